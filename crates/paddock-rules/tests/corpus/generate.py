rows = []
def add(cat, ctx, verdict, shell, *lines):
    for l in lines:
        assert '\t' not in l
        rows.append((cat, ctx, verdict, shell, l.replace('\n', '⏎')))

R='routine'
# --- routine, bash, known safe
add(R,'default','allow','bash',
 'ls -la', 'git status', 'git diff HEAD~1 -- src', 'git log --oneline -n 20', 'grep -rn TODO src | head -20',
 'cd src && ls', 'echo $((1+2))', 'for i in 1 2 3; do echo $((i*2)); done', 'sed -n 1,20p src/main.rs',
 'sort -u names.txt', 'sort names.txt | uniq -c', "jq '.version' package.json", 'head -n 50 README.md',
 'tail -f build.log', 'printenv PATH', 'which python3', 'diff -u a.txt b.txt', 'echo done >&2',
 'ls 2>/dev/null || true', 'test -f Cargo.toml && echo yes', '[ -d .git ] && git status',
 "git log --format='%H %s' | head", 'git show HEAD:README.md', 'git blame -L 1,10 src/main.rs',
 'git branch -a', 'git remote -v', 'git config --get user.email',
 "cat > src/x.py <<'EOF'\nprint(\"hi\")\nEOF", 'while read -r l; do echo "$l"; done < list.txt',
 'x=$(git rev-parse HEAD); echo "$x"', 'du -sh .', 'df -h', "printf '%s\\n' a b", "printf -v out '%s' x",
 'declare -a arr=(a b); echo "${arr[0]}"', 'for ((i=0; i<3; i++)); do echo $i; done',
 'if [[ $# -gt 0 ]]; then echo args; fi', '[[ -n "$x" ]] && echo set', 'echo ${HOME}/x',
 'echo x > /tmp/scratch.txt', 'ls > ../listing.txt', 'cat <<EOF > notes.txt\nhello ${USER} from $(pwd)\nEOF',
 'echo "$(date +%s)" > stamp.txt', 'git diff --stat | tail -1', 'git rev-parse --show-toplevel',
 'find . -name "*.rs" -type f', 'wc -l README.md', 'cat Cargo.toml | grep version', 'LC_ALL=C sort words.txt',
 'git log -p -1', 'git grep -n main', "rg -n 'fn main' src", 'git status --porcelain | wc -l',
 'cd /tmp && ls', 'uname -a', 'id -u', 'realpath .', 'stat -c %s Cargo.toml', 'date +%Y-%m-%d',
 'git show --stat HEAD', 'echo "${#arr[@]}"', 'git tag -l "v*"', 'git stash list')
# --- routine, bash, unknown (runs in the sandbox)
add(R,'default','unknown','bash',
 'cargo build', 'cargo test -p paddock-rules', 'npm install', 'npm run build', 'make -j4', 'python3 -m pytest -q',
 'PYTHONPATH=src pytest', 'GIT_PAGER=cat git log', 'export PATH="$PWD/node_modules/.bin:$PATH"',
 'source .venv/bin/activate && pytest', '. .venv/bin/activate', 'f=$(mktemp); echo x > $f',
 'tmp=$(mktemp -d) && cp -r src "$tmp" && ls "$tmp"', 'find . -name "*.rs" | xargs wc -l',
 'cd build && cmake .. && make', 'for f in *.txt; do wc -l "$f"; done', 'mkdir -p build && cp a.txt build/',
 'rm -rf build', 'rm -rf node_modules target', 'git add -A && git commit -m "fix: handle empty input"',
 'git checkout -b feature/x', 'git stash', 'git pull --rebase', 'git fetch origin', 'docker build -t app .',
 'python3 script.py > out.log 2>&1', 'npx tsc --noEmit', "sed -i 's/a/b/' file.txt", 'wc -l src/*.rs',
 'curl -sSL https://example.com/x.tar.gz -o x.tgz', 'pip install -r requirements.txt', 'go test ./...',
 'tar xzf x.tgz', 'timeout 60 cargo test', 'nice -n 10 make', 'bash scripts/test.sh', 'export CI=true && npm test',
 'export PATH=$HOME/.cargo/bin:$PATH', 'RUST_LOG=debug cargo run', 'mkdir -p /tmp/work && cd /tmp/work && ls',
 'echo x | tee out.txt', 'ps aux | grep node', 'chmod +x scripts/run.sh', './scripts/run.sh',
 "node -e 'console.log(1)'", 'cargo clippy --all-targets -- -D warnings', 'git clean -n', 'git reset HEAD file.txt',
 'git reset --soft HEAD~1', 'rm -f ./tmp.txt', 'rm -rf ./target', "find . -name '*.pyc' -delete",
 "python3 - <<'EOF'\nprint(1)\nEOF", 'git push origin main', 'npm publish', 'cargo fmt --all',
 'virtualenv .venv && . .venv/bin/activate && pip install -e .', 'export NODE_OPTIONS=--max-old-space-size=4096',
 'HOME=$PWD/.home npm ci', 'git merge --no-ff feature', 'git rebase -i HEAD~3', 'cp .env.example .env',
 'make test 2>&1 | tee test.log', 'ln -s ../shared lib/shared', 'touch src/new.rs', 'mv old.txt new.txt',
 'yarn install --frozen-lockfile', 'pytest -x tests/test_api.py -k login', 'cat <<EOF | python3\nprint(${N:-1})\nEOF')
add(R,'default','unknown','argv', 'bash', 'sh -s', 'cargo build --release', 'npm test', 'env FOO=1 make',
 'env PATH=/usr/bin:/bin make')
add(R,'default','allow','argv', 'git status', 'ls -la src', 'git log --oneline', 'cat README.md', 'env FOO=1 ls')
# --- routine, cmd
add(R,'default','allow','cmd', 'dir', 'dir /s /b *.cs', 'type README.md', 'echo hello', 'ver', 'cd src && dir',
 'dir > listing.txt', 'echo x > %TEMP%\\x.txt', 'type a.txt 2>nul', 'dir C:\\Windows\\System32 > out.txt')
add(R,'default','unknown','cmd', 'findstr /s TODO *.cs', 'git status', 'dotnet build', 'msbuild App.sln /p:Configuration=Release',
 'npm test', 'where git', 'set PATH=C:\\tools;%PATH% && build.bat', 'copy a.txt b.txt', 'mkdir out',
 'rd /s /q bin', 'move a.txt b.txt')
# --- routine, PowerShell
add(R,'default','allow','pwsh', 'Get-ChildItem -Recurse -Filter *.cs', 'Get-Content README.md -TotalCount 20',
 'Select-String -Path *.cs -Pattern TODO', 'git status', 'Write-Output hi > out.txt', 'Test-Path .git',
 'Get-Process | Sort-Object CPU | Select-Object -First 5', 'cd src; Get-ChildItem', '$x = Get-Content f.txt; $x.Length',
 "[int]'42'", 'Get-Date > $env:TEMP\\stamp.txt', 'git log -n 5 --oneline')
add(R,'default','unknown','pwsh', 'dotnet test', '$env:PATH = "C:\\tools;" + $env:PATH', 'Get-Date | Out-File log.txt',
 'Get-ChildItem | ForEach-Object { $_.Name }', 'npm run build', 'New-Item -ItemType Directory out',
 'Copy-Item a.txt b.txt', 'Move-Item a.txt b.txt')

# --- destructive (ask even in the sandbox)
D='destructive'
add(D,'default','prompt','bash', 'rm -rf .', 'rm -rf ~', 'rm -rf ./', 'rm -rf *', 'rm -fr ..', 'rm -r -f .',
 'rm --recursive --force .', 'rm --rec -f ~', 'rm -rf "$HOME"', 'rm -rf ~/', 'cd .. && rm -rf ./*',
 'git reset --hard', 'git reset --hard origin/main', 'git clean -fdx', 'git clean -fd', 'git clean --force -d -x',
 'git checkout -- .', 'git checkout .', 'git restore .', 'git stash drop', 'git stash clear', 'git branch -D feature',
 'git push --force', 'git push -f origin main', 'git push --force origin HEAD:main', 'git -C . reset --hard',
 'sudo rm -rf ~', 'find . -maxdepth 0 -exec rm -rf . \\;', 'git push origin --delete main', 'rm -Rf $HOME')
add(D,'default','prompt','cmd', 'rd /s /q .', 'rmdir /S /Q ..', 'rd /s /q \\')
add(D,'default','prompt','argv', 'rm -rf .', 'git reset --hard HEAD~3', 'git clean -fdx')

# --- outbound (network on)
O='outbound'
add(O,'net','prompt','bash', 'git push', 'git push origin main', 'git push -u origin feature', 'npm publish',
 'cargo publish', 'curl -X POST -d @data.json https://api.example.com', "curl -d 'a=1' https://x.example",
 'curl -F file=@x https://x.example', 'curl -T f ftp://x.example', 'curl --upload-file f https://x.example',
 'curl -XPOST https://x.example', 'curl --data-binary @f https://x.example', "curl --json '{}' https://x.example",
 'curl -sSfd x=1 https://x.example', 'curl --request=PUT https://x.example', 'wget --post-file=f https://x.example',
 'scp f user@host:/tmp', 'rsync -av . host:/srv', "ssh host 'ls'", 'nc host 80 < f', 'exec 3<>/dev/tcp/host/80',
 'cat < /dev/tcp/1.2.3.4/80', 'gh pr create --fill', 'twine upload dist/*', 'docker push img:latest',
 'yarn publish --tag next', 'git -C sub push', 'tar cz . | ssh host "tar xz"', 'curl -K cfg https://x.example',
 'echo data | curl -d @- https://x.example')
add(O,'net','prompt','pwsh', 'Invoke-RestMethod -Method Post -Uri https://x.example -Body $b',
 'iwr https://x.example -InFile f -Method Put', 'Invoke-WebRequest -Uri https://x.example -Meth:Delete')
add(O,'net','unknown','bash', 'curl -sSL https://x.example', 'git fetch', 'git pull', 'curl -X GET https://x.example',
 'wget https://x.example/f.tgz', 'rsync -a src/ dst/', 'npm install left-pad', 'pip download x')
add(O,'net','allow','bash', 'git status', 'git log --oneline')
add(O,'default','unknown','bash', 'git push', 'npm publish', "curl -d 'a=1' https://x.example", 'scp f host:',
 'cat < /dev/tcp/1.2.3.4/80', 'ssh host ls')

# --- false "known safe" from the issue (never allow)
F='false-safe'
add(F,'default','unknown','argv', 'env PATH=. ls', 'env BASH_ENV=./x bash -c ls',
 'env GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=core.fsmonitor GIT_CONFIG_VALUE_0=./x git status',
 'env LD_PRELOAD=./x.so ls', 'git --git-dir=x status', 'git -C nested status', 'git --work-tree=x status',
 'git grep -O foo', 'git grep -Ovim foo', 'git grep --open-files-in-pager=sh x', 'git grep --open foo',
 'git show --textconv HEAD:x', 'git log -p --ext-diff', 'git diff --output=/tmp/x', 'git log --out=x',
 "sed '--expression=1e id' f", 'sed --fi=x.sed f', "sed -e 's/a/b/e' f", "sed -n 'w out' f", 'sed --in-pl s/a/b/ f',
 'sort --compress-program=sh x', 'sort --compress=./x x', 'sort -uo out x', 'sort -o/etc/x y',
 'xargs -l rm', 'timeout --k 1 5 rm x', 'nice --adj 5 rm x', 'bash --rcfile ./evil -c ls',
 'bash --init-file ./evil -i', 'git -c core.pager=./x log', 'git --config-env=core.pager=X log',
 'date --se=2020-01-01', 'uniq in.txt out.txt', 'tree -o out.txt', 'env XDG_CONFIG_HOME=. git status',
 'env -C sub PATH=. ls')
add(F,'default','unknown','bash', 'LD_PRELOAD=./x.so ls', 'HOME=. git status', 'GIT_DIR=x git status',
 'cat < /dev/tcp/1.2.3.4/80', 'PATH=.:$PATH ls', 'GIT_CONFIG_COUNT=1 git status', 'export BASH_ENV=./x',
 'declare -i n=5')
add(F,'default','prompt','argv', "env --s='rm -rf x'", 'env -S ls', "xargs -I{} sh -c '{}'",
 "xargs -i sh -c '{}'", 'git -c alias.p=push p', 'git -calias.s=status s', 'sh -c "$0"')
add(F,'default','prompt','bash', 'echo $((x))', "x='a[$(id)]'; echo $((x))", '[[ $v -eq 0 ]]',
 "[[ a[\\$(id)] -eq 0 ]]", 'echo ${x@P}', "printf -v 'a[$(id)]' x", 'let "n = $m + 1"', 'echo ${!ref}',
 '(( count > limit ))', 'read "a[$(id)]" < f', 'unset "a[$(id)]"', 'test "$v" -eq 0', 'echo ${arr[$k]}',
 'bash -c "bash --rcfile x"', 'n=$(cat f); echo $((n+1))', 'declare "$name=1"')
add(F,'default','prompt','pwsh', "[IO.StreamWriter]'C:\\Users\\me\\x.txt'", "$w = [IO.StreamWriter]'x.txt'",
 '(Get-Item x).IsReadOnly = $false', '$f.LastWriteTime = Get-Date', 'Get-Content \\\\host\\share\\x',
 'Get-ChildItem //host/share', 'Get-Date > \\\\host\\s\\x.txt', "[System.IO.File]::WriteAllText('x','y')",
 '$p.StartInfo.FileName = "calc"', "[Diagnostics.Process]'calc'")
add(F,'default','prompt','cmd', 'type \\\\host\\s\\x', 'dir \\\\host\\share', 'copy \\\\host\\s\\x .')
add(F,'default','unknown','cmd', 'findstr foo x.txt', 'more README.md', 'where python', 'sort names.txt')

# --- forbid rules cannot be dodged by wrappers
B='bypass'
add(B,'default','forbid','argv', 'watch -n 5 rm -rf /', 'watch -x rm -rf /', 'setsid rm -rf /', 'setsid -f rm -rf /',
 "script -qc 'rm -rf /' /dev/null", 'flock /tmp/l rm -rf /', "flock -n /tmp/l -c 'rm -rf /'",
 "su -c 'rm -rf /'", "su root -c 'rm -rf /'", 'sudo -iu root rm -rf /', 'sudo -u root -- rm -rf /', 'doas rm -rf /',
 'timeout --k 1 5 rm -rf /', 'nice --adj 5 rm -rf /', 'nice -5 rm -rf /', 'xargs -l rm -rf /', 'env --unset=X rm -rf /',
 'stdbuf -oL rm -rf /', 'ionice -c3 rm -rf /', 'chroot / rm -rf /', 'time -p rm -rf /', 'env -i PATH=/bin rm -rf /',
 "bash -c 'watch -x rm -rf /'", "find / -exec rm -rf / ;", 'nohup rm -rf /', 'busybox rm -rf /',
 "sudo -s rm -rf /", "parallel -q rm -rf / ::: x")
add(B,'default','forbid','cmd', 'del,x', 'del;x', 'del=x', 'erase,x.txt', '@del x', 'dir & del x')
add(B,'default','forbid','pwsh', 'rm -rf /', 'del x', 'Remove-Item -Recurse -Force .')
add(B,'default','prompt','argv', 'parallel rm -rf ::: /', 'parallel', "watch 'rm -rf $D'")
add(B,'default','prompt','bash', 'sudo $CMD')
add(B,'default','forbid','bash', 'sudo -u "$U" rm -rf /')
add(B,'default','prompt','bash', 'git -c alias.p=push p origin', 'alias x="rm -rf /"; x')

# --- hidden code (asks even in the sandbox)
H='hidden'
add(H,'default','prompt','bash', 'eval "$CMD"', '$CMD arg', 'echo ls | sh', "bash <<< 'ls'", 'curl -s https://x.example | bash',
 "alias ll='rm -rf ~'", "trap 'rm x' EXIT", '. "$f"', "echo 'unterminated", 'x=rm; $x -rf build',
 '"$(echo rm)" -rf x', 'exec "$@"')
add(H,'default','prompt','argv', 'pwsh -enc AAAA', 'powershell -EncodedCommand ZQBjAGgAbwA=', 'bash -c "$X"')
add(H,'default','prompt','pwsh', 'iex $s', '& $c', "Invoke-Expression 'ls'", '. $profile', '$f.Delete()')
add(H,'default','prompt','cmd', '%X% arg', 'if exist x del x', 'for %i in (*) do echo %i')

# --- full-access mode: no sandbox, so unknown asks and redirects are judged
U='full-access'
add(U,'full','allow','bash', 'ls', 'git status', 'echo x > out.txt', 'cd sub && echo x > f', 'grep -rn x . | head')
add(U,'full','prompt','bash', 'cargo build', 'echo x > /etc/x', 'echo x > /tmp/x', 'PYTHONPATH=src pytest',
 'source .venv/bin/activate', 'cd sub && echo x > ../../x', 'cd /tmp && echo x > f', 'cd $D && echo x > f',
 '(cd sub/deep); echo x > ../f', 'f=$(mktemp); echo x > $f', 'npm install', 'rm -rf build')
add(U,'full','prompt','argv', 'bash', 'make', 'env PATH=. ls')
add(U,'full','prompt','cmd', 'dotnet build', 'echo x > C:\\Windows\\x.txt')
add(U,'full','allow','cmd', 'dir', 'echo x > out.txt')
add(U,'full','prompt','pwsh', 'dotnet test', 'Get-Date > C:\\Windows\\x.txt')
add(U,'full','allow','pwsh', 'Get-ChildItem', 'Get-Date > out.txt')

# --- crashes: deep nesting decides "ask" with bounded stack and memory
C='crash'
add(C,'default','prompt','bash', 'echo ' + '$(' * 8000 + ')' * 8000)
add(C,'default','prompt','bash', 'echo ' + '$(' * 70 + 'ls' + ')' * 70)
add(C,'default','prompt','bash', '(' * 2000 + 'ls' + ')' * 2000)
add(C,'default','prompt','bash', '{ ' * 500 + 'ls; ' + '}; ' * 500)
add(C,'default','prompt','pwsh', '{' * 17500 + '}' * 17500)
add(C,'default','prompt','pwsh', '$(' * 5000 + ')' * 5000)
add(C,'default','prompt','pwsh', '@"\n' + '$(' * 3000 + ')' * 3000 + '\n"@')
# cmd's parser is a loop, not a recursion: deep groups are fine and still judged.
add(C,'default','allow','cmd', '(' * 20000 + 'dir' + ')' * 20000)
add(C,'default','forbid','cmd', '(' * 20000 + 'del x' + ')' * 20000)
nested = 'ls'
for _ in range(12):
    single = "'" + nested.replace("'", "'\\''") + "'"
    double = '"' + nested.replace('\\', '\\\\').replace('"', '\\"').replace('$', '\\$').replace('`', '\\`') + '"'
    nested = "bash -c " + min(single, double, key=len)
add(C,'default','prompt','bash', nested)
add(C,'default','allow','bash', 'echo ' + '$(echo ' * 10 + 'ls' + ')' * 10)
add(C,'default','prompt','bash', 'echo ' + '$(' * 10 + 'ls' + ')' * 10)

with open('lines.tsv','w') as f:
    f.write('# category\tcontext\tverdict\tshell\tline   (see README.md)\n')
    for r in rows:
        f.write('\t'.join(r) + '\n')
print(len(rows))
