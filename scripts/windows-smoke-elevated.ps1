<#
.SYNOPSIS
End-to-end checks of Paddock's Windows level 2 (sandbox accounts, network fence, read
confinement), run on real Windows from an elevated PowerShell.
.DESCRIPTION
Runs `paddock setup`, then attacks from inside `paddock run` at windows.level = "elevated" (each
must fail) next to legitimate work (each must succeed), then `paddock setup --uninstall` and
checks that no account, group, WFP filter, setup record or ACE is left behind. Prints one line
per case: PASS, FAIL (with why) or SKIP (with the missing prerequisite). Every "denied" case
first writes a canary inside the workspace in the same run and passes only when that worked, so a
Paddock that refuses to run fails them instead of passing them. Exits 1 if any case failed. Needs $env:PADDOCK_EXE. It changes the machine (creates and removes the two sandbox
accounts), so run it on a CI runner or a disposable VM, never on a workstation you care about.
Cannot run under Wine (no accounts, logon, LSA or WFP).
#>
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 2

$P = $env:PADDOCK_EXE
if (-not $P -or -not (Test-Path $P)) {
    Write-Output "FAIL setup: PADDOCK_EXE is not set to an existing paddock.exe"
    exit 1
}
$principal = New-Object Security.Principal.WindowsPrincipal([Security.Principal.WindowsIdentity]::GetCurrent())
if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
    Write-Output "FAIL setup: run this script from an elevated PowerShell (setup needs administrator rights)"
    exit 1
}

$script:failures = 0
function Report([string]$name, [bool]$ok, [string]$detail) {
    if ($ok) { Write-Output "PASS $name" }
    else { Write-Output "FAIL ${name}: $detail"; $script:failures++ }
}

$tag = [guid]::NewGuid().ToString('N').Substring(0, 8)
$root = Join-Path (Get-Location) "paddock-smoke2-$tag"
$ws = Join-Path $root 'ws'
New-Item -ItemType Directory -Path $ws | Out-Null
$config = Join-Path $root 'paddock.toml'
Set-Content -Path $config -Value "[windows]`nlevel = `"elevated`""
$sshDir = Join-Path $env:USERPROFILE '.ssh'
$key = Join-Path $sshDir "paddock-smoke-$tag"
New-Item -ItemType Directory -Force -Path $sshDir | Out-Null
Set-Content -Path $key -Value 'SMOKE-SECRET'
if ("$root$env:USERPROFILE" -match ' ') {
    Write-Output "FAIL setup: run from a folder without spaces"
    exit 1
}
$ErrorActionPreference = 'Continue'

function Sandboxed([string]$network, [string[]]$command) {
    $argv = @('run', '--no-rules', '--config', $config, '--network', $network, '--workspace', $ws, '--cwd', $ws, '--timeout', '90', '--') + $command
    $output = & $P @argv 2>&1 | Out-String
    return @{ Code = $LASTEXITCODE; Output = $output }
}
# Runs cmd `$attack` after writing a canary in the workspace; `Ran` says the canary was written.
$script:canaries = 0
function CmdProven([string]$network, [string]$attack) {
    $script:canaries++
    $c = "canary-$($script:canaries)"
    $r = Sandboxed $network @('cmd', '/d', '/c', "(echo ok> $c.txt) && if exist $c.txt echo $c-WRITTEN& $attack")
    $r.Ran = $r.Output -match "$c-WRITTEN"
    return $r
}
function ReportDenied([string]$name, $r, [bool]$denied) {
    Report $name ($r.Ran -and $denied) "wrote inside the workspace first: $($r.Ran); exit $($r.Code): $($r.Output)"
}
function Connect([string]$network, [string]$hostName, [int]$port) {
    $ps = "try { (New-Object Net.Sockets.TcpClient).Connect('$hostName', $port); exit 0 } catch { exit 3 }"
    return Sandboxed $network @('powershell', '-NoProfile', '-Command', $ps)
}
function SandboxAccountsPresent {
    return @(Get-LocalUser -ErrorAction SilentlyContinue | Where-Object { $_.Name -like 'Paddock*' }).Count -gt 0
}
function PaddockFilters {
    $out = netsh wfp show filters file=- 2>$null | Out-String
    return ([regex]::Matches($out, 'Paddock')).Count
}

# --- Setup --------------------------------------------------------------------------------------
$o = & $P setup 2>&1 | Out-String
Report 'setup succeeds' ($LASTEXITCODE -eq 0) "exit ${LASTEXITCODE}: $o"
Report 'setup creates the hidden sandbox accounts' (SandboxAccountsPresent) 'no Paddock* local user'
$hidden = Get-ItemProperty -Path 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon\SpecialAccounts\UserList' -ErrorAction SilentlyContinue
Report 'sandbox accounts are hidden from the sign-in screen' ($hidden -and $hidden.PaddockOffline -eq 0 -and $hidden.PaddockOnline -eq 0) 'UserList values missing'
$o = & $P setup 2>&1 | Out-String
Report 'setup again repairs in place (idempotent)' ($LASTEXITCODE -eq 0) "exit ${LASTEXITCODE}: $o"
$o = & $P status 2>&1 | Out-String
Report 'status shows the setup' ($o -match 'elevated|Paddock') $o
$groupSid = $null
try { $groupSid = (New-Object Security.Principal.NTAccount('PaddockSandbox')).Translate([Security.Principal.SecurityIdentifier]).Value } catch { }
Report 'setup creates the sandbox group' ([bool]$groupSid) 'PaddockSandbox not found'

# === The stored passwords (issue 11 item 3): readable by enabled PaddockBrokers members only; a
# === level-1 command of a broker cannot read them; a session older than setup is refused.
$secrets = Join-Path $env:ProgramData 'Paddock\secrets'
$sddl = (Get-Acl -LiteralPath (Join-Path $secrets 'PaddockOffline.bin')).Sddl
$brokersSid = $null
try { $brokersSid = (New-Object Security.Principal.NTAccount('PaddockBrokers')).Translate([Security.Principal.SecurityIdentifier]).Value } catch { }
$me = [Security.Principal.WindowsIdentity]::GetCurrent().User.Value
Report 'the secret file names no user: SYSTEM, Administrators and PaddockBrokers only' ($brokersSid -and $sddl -match [regex]::Escape($brokersSid) -and $sddl -notmatch [regex]::Escape($me) -and $sddl -notmatch ';(BU|WD|AU);') $sddl
$brokerNow = [bool]((whoami /groups) -match 'PaddockBrokers')
$lvl1 = Join-Path $root 'level1.toml'
Set-Content -Path $lvl1 -Value "allow_unenforced = [`"network`", `"deny-read`"]`n[windows]`nlevel = `"unelevated`""
if ($brokerNow) {
    # The redirect creates stolen.bin inside the root first: an empty file proves the run ran.
    $o = & $P run --no-rules --config $lvl1 --workspace $ws --cwd $ws -- cmd /d /c "type $secrets\PaddockOffline.bin > $ws\stolen.bin" 2>&1 | Out-String
    $ran = Test-Path "$ws\stolen.bin"
    $stolen = $ran -and ((Get-Item "$ws\stolen.bin").Length -gt 0)
    Report 'a level-1 command of a broker cannot read the sandbox account passwords' ($ran -and -not $stolen) "ran: $ran, exit ${LASTEXITCODE}: $o"
}
if (-not $brokerNow) {
    $r = Sandboxed 'off' @('cmd', '/d', '/c', 'exit 0')
    Report 'a session that predates setup is refused with the sign-in fix' ($r.Code -eq 125 -and $r.Output -match 'sign out') "exit $($r.Code): $($r.Output)"
    Write-Output "SKIP level-2 run cases: this sign-in session predates PaddockBrokers membership; sign out and in, then run this script again (setup is idempotent)"
}

if ($brokerNow) {
# --- Network fence --------------------------------------------------------------------------------
$listener = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0)
$listener.Start()
$port = $listener.LocalEndpoint.Port
$r = Connect 'off' '127.0.0.1' $port
Report 'offline account cannot connect to a loopback listener' ($r.Code -ne 0) "exit $($r.Code): $($r.Output)"
$r = Connect 'off' '1.1.1.1' 443
Report 'offline account cannot connect outside' ($r.Code -ne 0) "exit $($r.Code): $($r.Output)"
$r = Connect 'on' '127.0.0.1' $port
Report 'online account reaches a loopback listener' ($r.Code -eq 0) "exit $($r.Code): $($r.Output)"
$listener.Stop()

# --- Network allow-list (issue 12): the offline account, its proxy in the broker -----------------
# An origin on the host's loopback (outside the fence's hole) answering plain HTTP; the sandbox
# may reach it only through the run's proxy, which allows 127.0.0.1 (listed as an IP literal).
$originPortFile = Join-Path $root 'origin-port.txt'
$origin = Start-Job -ArgumentList $originPortFile -ScriptBlock {
    param($portFile)
    $l = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0)
    $l.Start()
    Set-Content -Path $portFile -Value $l.LocalEndpoint.Port
    $deadline = (Get-Date).AddMinutes(5)
    while ((Get-Date) -lt $deadline) {
        if (-not $l.Pending()) { Start-Sleep -Milliseconds 50; continue }
        $c = $l.AcceptTcpClient()
        $s = $c.GetStream()
        $reader = New-Object IO.StreamReader($s)
        $line = $reader.ReadLine()
        while ($reader.ReadLine()) { }
        $body = "hello from paddock-origin"
        $bytes = [Text.Encoding]::ASCII.GetBytes("HTTP/1.1 200 OK`r`nContent-Length: $($body.Length)`r`nConnection: close`r`n`r`n$body")
        $s.Write($bytes, 0, $bytes.Length)
        $c.Close()
    }
    $l.Stop()
}
$waited = 0
while (-not (Test-Path $originPortFile) -and $waited -lt 300) { Start-Sleep -Milliseconds 100; $waited++ }
$originPort = if (Test-Path $originPortFile) { [int](Get-Content $originPortFile) } else { 0 }
Report 'the allow-list origin started' ($originPort -gt 0) 'the background listener wrote no port'
$allowCfg = Join-Path $root 'allow.toml'
Set-Content -Path $allowCfg -Value "network = { allow = [`"127.0.0.1`"] }`n[windows]`nlevel = `"elevated`""
function Allowed([string[]]$command, [string[]]$extra = @()) {
    $argv = @('run', '--no-rules', '--config', $allowCfg) + $extra + @('--workspace', $ws, '--cwd', $ws, '--timeout', '90', '--') + $command
    $output = & $P @argv 2>&1 | Out-String
    return @{ Code = $LASTEXITCODE; Output = $output }
}
# NO_PROXY lists 127.0.0.1 (the sandbox's own loopback); drop it so curl goes through the proxy,
# and pass %HTTP_PROXY% with -x: if the variable were missing, curl would connect directly.
$viaProxy = "set NO_PROXY=&& curl.exe -s -S --max-time 20 -x %HTTP_PROXY%"
$r = Allowed @('cmd', '/d', '/c', 'echo proxy=%HTTP_PROXY%;%HTTPS_PROXY%;%ALL_PROXY%')
Report 'an allow-list run gets the proxy variables of a port of the hole, with its credential' ($r.Code -eq 0 -and $r.Output -match 'proxy=http://paddock:[0-9a-f]{32}@127\.0\.0\.1:478\d\d;http://paddock:[0-9a-f]{32}@127\.0\.0\.1:478\d\d;socks5h://paddock:[0-9a-f]{32}@127\.0\.0\.1:478\d\d') "exit $($r.Code): $($r.Output)"
$r = Allowed @('cmd', '/d', '/c', "$viaProxy http://127.0.0.1:$originPort/listed")
Report 'allow-list: a listed host is reached through the proxy' ($r.Code -eq 0 -and $r.Output -match 'hello from paddock-origin') "exit $($r.Code): $($r.Output)"
# What another run's command would do: the same proxy port without this run's token
# (%HTTP_PROXY:*@=% is the URL after its userinfo: 127.0.0.1:PORT).
$r = Allowed @('cmd', '/d', '/c', "set NO_PROXY=&& curl.exe -s -o NUL --max-time 20 -w code=%{http_code} -x http://%HTTP_PROXY:*@=% http://127.0.0.1:$originPort/stolen")
Report 'allow-list: the proxy without the run''s credential answers 407' ($r.Output -match 'code=407') "exit $($r.Code): $($r.Output)"
# --json: stdout is the report alone (stderr dropped here), with the command's output inside.
$argv = @('run', '--no-rules', '--config', $allowCfg, '--json', '--workspace', $ws, '--cwd', $ws, '--timeout', '90', '--', 'cmd', '/d', '/c', "$viaProxy -w code=%{http_code} http://unlisted.invalid/x")
$json = & $P @argv 2>$null | Out-String
$report = $null
try { $report = $json | ConvertFrom-Json } catch { }
$refused = @()
if ($report) { $refused = @($report.network | Where-Object { $_.host -eq 'unlisted.invalid' -and -not $_.allowed }) }
Report 'allow-list: an unlisted host is refused (403) and recorded in the report' ($report -and $report.stdout -match 'code=403' -and $refused.Count -ge 1) "refused events: $($refused.Count): $json"
$fence = $null
if ($report) { $fence = @($report.enforcement.layers | Where-Object { $_.name -eq 'network-fence' }) }
Report 'allow-list: the report names the proxy in the fence layer' ($fence -and ($fence | Out-String) -match 'allow-list') "$json"
$ps = "try { (New-Object Net.Sockets.TcpClient).Connect('1.1.1.1', 443); exit 0 } catch { exit 3 }"
$r = Allowed @('powershell', '-NoProfile', '-Command', $ps)
Report 'allow-list: a direct connect outside, without the proxy, fails' ($r.Code -eq 3) "exit $($r.Code): $($r.Output)"
$ps = "try { (New-Object Net.Sockets.TcpClient).Connect('127.0.0.1', $originPort); exit 0 } catch { exit 3 }"
$r = Allowed @('powershell', '-NoProfile', '-Command', $ps)
Report 'allow-list: a loopback port outside the hole fails (the origin, directly)' ($r.Code -eq 3) "exit $($r.Code): $($r.Output)"
# All ten ports of the hole held by this (unsandboxed) script: the run is refused, in one line.
$squat = @()
foreach ($holePort in 47800..47809) {
    try { $t = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, $holePort); $t.Start(); $squat += $t } catch { }
}
$r = Allowed @('cmd', '/d', '/c', 'echo ran-anyway')
Report 'allow-list: every port of the hole taken refuses the run naming the range' ($squat.Count -eq 10 -and $r.Code -eq 125 -and $r.Output -match '47800-47809' -and $r.Output -notmatch 'ran-anyway') "held $($squat.Count)/10, exit $($r.Code): $($r.Output)"
foreach ($t in $squat) { $t.Stop() }
Stop-Job $origin -ErrorAction SilentlyContinue
Remove-Job $origin -Force -ErrorAction SilentlyContinue

# --- Read confinement and workspace writes ----------------------------------------------------------
$r = CmdProven 'off' "type $key"
ReportDenied 'reading ~/.ssh is denied' $r ($r.Output -notmatch 'SMOKE-SECRET')
$r = Sandboxed 'off' @('cmd', '/d', '/c', 'echo made> made.txt')
Report 'writing the workspace works' ((Test-Path "$ws\made.txt") -and $r.Code -eq 0) "exit $($r.Code): $($r.Output)"
$r = CmdProven 'off' "echo x> $root\outside.txt"
ReportDenied 'writing outside the workspace is denied' $r (-not (Test-Path "$root\outside.txt"))
$victim = Join-Path $root 'victim.txt'
Set-Content -Path $victim -Value keep
$victimSddl = (Get-Acl -LiteralPath $victim).Sddl
$r = CmdProven 'off' "icacls $victim /grant *S-1-1-0:F"
ReportDenied 'WRITE_DAC outside the workspace is denied' $r ((Get-Acl -LiteralPath $victim).Sddl -eq $victimSddl)
$r = CmdProven 'off' "del /f /q $victim"
ReportDenied 'DELETE outside the workspace is denied' $r (Test-Path $victim)
$r = Sandboxed 'off' @('cmd', '/d', '/c', 'echo %USERPROFILE%')
Report 'the sandbox has its own USERPROFILE' ($r.Output -notmatch [regex]::Escape($env:USERPROFILE)) $r.Output

$r = Sandboxed 'off' @('powershell', '-NoProfile', '-Command', "try { `$l = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0); `$l.Start(); exit 0 } catch { exit 3 }")
Report 'offline account cannot listen (ALE_AUTH_LISTEN filter)' ($r.Code -ne 0) "exit $($r.Code): $($r.Output)"
}

# --- Uninstall ----------------------------------------------------------------------------------------
$o = & $P setup --uninstall 2>&1 | Out-String
Report 'uninstall succeeds' ($LASTEXITCODE -eq 0) "exit ${LASTEXITCODE}: $o"
Report 'uninstall leaves no sandbox account' (-not (SandboxAccountsPresent)) 'a Paddock* local user remains'
Report 'uninstall leaves no sandbox group' (-not (Get-LocalGroup -Name 'PaddockSandbox' -ErrorAction SilentlyContinue)) 'PaddockSandbox remains'
Report 'uninstall leaves no WFP filter' ((PaddockFilters) -eq 0) 'netsh wfp show filters still lists Paddock filters'
Report 'uninstall leaves no setup record' (-not (Test-Path "$env:ProgramData\Paddock\setup.json")) 'setup.json remains'
# Every place level 2 puts ACEs: the workspace, credential stores, tool folders.
$places = @($ws, $sshDir, "$env:USERPROFILE\.cargo\bin", "$env:LOCALAPPDATA\Programs", "$env:APPDATA\Microsoft\Credentials") | Where-Object { Test-Path -LiteralPath $_ }
$left = @($places | Where-Object { $groupSid -and (Get-Acl -LiteralPath $_).Sddl -match [regex]::Escape($groupSid) })
Report 'uninstall leaves no ACE naming the sandbox group' ($left.Count -eq 0) "still on: $($left -join ', ')"

Remove-Item -LiteralPath $key -Force -ErrorAction SilentlyContinue
Remove-Item -LiteralPath $root -Recurse -Force -ErrorAction SilentlyContinue
if ($script:failures -gt 0) { Write-Output "$($script:failures) case(s) failed"; exit 1 }
Write-Output 'all cases passed'
exit 0
