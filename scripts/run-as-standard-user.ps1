<#
.SYNOPSIS
Runs a PowerShell script as a freshly created standard (non-administrator) local user, for CI.
.DESCRIPTION
Creates a throwaway local user with a random password, copies the script and paddock.exe into a
scratch folder that user owns, runs the script there with -LoadUserProfile, prints its output and
exits with its exit code. Refuses (exit 125) if the child turns out to be an administrator.
The script sees $env:PADDOCK_EXE (the copied paddock.exe). Needs an elevated caller (CI runner).
#>
param(
    [Parameter(Mandatory = $true)][string]$Script,
    [Parameter(Mandatory = $true)][string]$PaddockExe
)
$ErrorActionPreference = 'Stop'

$userName = 'paddockci' + (Get-Random -Minimum 1000 -Maximum 9999)
$bytes = [byte[]]::new(24)
[System.Security.Cryptography.RandomNumberGenerator]::Create().GetBytes($bytes)
$plain = 'Pd1!' + [Convert]::ToBase64String($bytes)
$password = ConvertTo-SecureString $plain -AsPlainText -Force
New-LocalUser -Name $userName -Password $password -PasswordNeverExpires -AccountNeverExpires `
    -Description 'Paddock CI standard user' | Out-Null
# New-LocalUser adds to no group; BUILTIN\Users (by SID, name is localized) grants local logon.
if (-not (Get-LocalGroupMember -SID 'S-1-5-32-545' -Member $userName -ErrorAction SilentlyContinue)) {
    Add-LocalGroupMember -SID 'S-1-5-32-545' -Member $userName
}

$scratch = Join-Path $env:SystemDrive ('paddock-ci-' + $userName)
New-Item -ItemType Directory -Path $scratch | Out-Null
Copy-Item $Script (Join-Path $scratch 'smoke.ps1')
Copy-Item $PaddockExe (Join-Path $scratch 'paddock.exe')
$wrapper = @'
$ErrorActionPreference = 'Stop'
$principal = [Security.Principal.WindowsPrincipal][Security.Principal.WindowsIdentity]::GetCurrent()
if ($principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
    Write-Output 'run-as-standard-user: child is an administrator; refusing'
    exit 125
}
$env:PADDOCK_EXE = Join-Path $PSScriptRoot 'paddock.exe'
& (Join-Path $PSScriptRoot 'smoke.ps1')
exit $LASTEXITCODE
'@
Set-Content -Path (Join-Path $scratch 'wrapper.ps1') -Value $wrapper
icacls $scratch /grant "${userName}:(OI)(CI)M" | Out-Null

$credential = [System.Management.Automation.PSCredential]::new("$env:COMPUTERNAME\$userName", $password)
$stdout = Join-Path $scratch 'stdout.txt'
$stderr = Join-Path $scratch 'stderr.txt'
try {
    $child = Start-Process -FilePath 'powershell.exe' -Credential $credential -LoadUserProfile `
        -WorkingDirectory $scratch -ArgumentList @('-NoProfile', '-ExecutionPolicy', 'Bypass', '-File', (Join-Path $scratch 'wrapper.ps1')) `
        -RedirectStandardOutput $stdout -RedirectStandardError $stderr -Wait -PassThru
    $child.WaitForExit()
    Get-Content $stdout
    Get-Content $stderr | ForEach-Object { [Console]::Error.WriteLine($_) }
    $code = $child.ExitCode
    if ($null -eq $code) {
        Write-Output 'run-as-standard-user: no exit code from the child; treating as failure'
        $code = 1
    }
} finally {
    Remove-LocalUser -Name $userName
}
Write-Output "run-as-standard-user: $Script exited with $code"
exit $code
