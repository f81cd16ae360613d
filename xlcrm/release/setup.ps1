<#
.SYNOPSIS
  xlcrm のセットアップ(Windows + Excel)。setup.bat をダブルクリックすると実行されます。
.DESCRIPTION
  1. python.org 版の Python 3.11 以上を探します(py ランチャーを優先。Microsoft Store 版は使いません)。
  2. xlcrm 専用の Python 環境を作ります(既定: %LOCALAPPDATA%\xlcrm\venv)。
  3. このフォルダーの xlcrm と、ブックの VBA に合わせた xlwings @@XLWINGS_VERSION@@ を入れます。
  4. CRM.xlsm の xlwings.conf シートに、その Python の場所を書き込みます。
  5. CRM.xlsm の「インターネットから取得したファイル」の印(Mark of the Web)を外します。
  This file is UTF-8 with BOM so that Windows PowerShell 5.1 reads its Japanese; setup.bat runs it with
  -ExecutionPolicy Bypass. Every path is passed quoted or as -LiteralPath: user names, OneDrive\ドキュメント,
  spaces and brackets in folder names must all work.
.PARAMETER Workbook
  設定するブック(既定: このフォルダーの CRM.xlsm)。今お使いのブックを指定することもできます。
.PARAMETER VenvDir
  Python 環境を作る場所(既定: %LOCALAPPDATA%\xlcrm\venv)。
#>
param(
    [string]$Workbook = '',
    [string]$VenvDir = ''
)

# Native commands report through $LASTEXITCODE; 'Stop' would turn any line a program writes to stderr into a
# terminating error in Windows PowerShell 5.1, so failures are checked one by one instead.
$ErrorActionPreference = 'Continue'

# Filled in by `xlcrm release`: the workbook's VBA loads xlwings64-<this version>.dll, so no other version works.
$XlwingsVersion = '@@XLWINGS_VERSION@@'
$XlcrmVersion = '@@XLCRM_VERSION@@'
$WheelName = '@@WHEEL@@'
$MinVersion = 311   # Python 3.11
$StoreHelp = 'https://www.python.org/downloads/windows/'

# Python prints paths (user names may be Japanese) in UTF-8, and this console reads them as UTF-8.
$utf8 = New-Object System.Text.UTF8Encoding $false
try { [Console]::OutputEncoding = $utf8 } catch { }
$OutputEncoding = $utf8
$env:PYTHONIOENCODING = 'utf-8'
$env:PYTHONUTF8 = '1'

function Step([string]$Message) {
    Write-Host ''
    Write-Host "■ $Message" -ForegroundColor Cyan
}

function Fail([string]$Message) {
    Write-Host ''
    Write-Host "[エラー] $Message" -ForegroundColor Red
    Write-Host 'セットアップを中止しました。上のメッセージを確かめてから、もう一度 setup.bat を実行してください。' -ForegroundColor Red
    exit 1
}

function Test-StorePath([string]$Path) {
    # The Microsoft Store stub (python.exe that opens the Store) and Store Python both live under WindowsApps;
    # Excel cannot start Store Python (sandboxed), so neither is used.
    return ($Path -like '*\WindowsApps\*')
}

function Get-PythonInfo([string]$Exe, [string[]]$PreArgs) {
    # No double quotes in the code: Windows PowerShell 5.1 does not escape them for native programs.
    $code = 'import sys; print(sys.executable); print(sys.version_info[0] * 100 + sys.version_info[1]); print(64 if sys.maxsize > 2**32 else 32)'
    $out = $null
    try { $out = & $Exe @PreArgs -c $code 2>$null } catch { return $null }
    if ($LASTEXITCODE -ne 0 -or $null -eq $out) { return $null }
    $lines = @($out | ForEach-Object { "$_".Trim() } | Where-Object { $_ -ne '' })
    if ($lines.Count -lt 3) { return $null }
    $version = 0
    if (-not [int]::TryParse($lines[1], [ref]$version)) { return $null }
    return [pscustomobject]@{ Executable = $lines[0]; Version = $version; Bits = $lines[2] }
}

$Here = $PSScriptRoot
if (-not $Workbook) { $Workbook = Join-Path -Path $Here -ChildPath 'CRM.xlsm' }
if (-not $VenvDir) { $VenvDir = Join-Path -Path $env:LOCALAPPDATA -ChildPath 'xlcrm\venv' }
# relative to the PowerShell location (not the process's), whether or not the path exists yet
$Workbook = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($Workbook)
$VenvDir = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($VenvDir).TrimEnd('\')
$Wheel = Join-Path -Path $Here -ChildPath $WheelName
$WheelDir = Join-Path -Path $Here -ChildPath 'wheels'
$VenvPython = Join-Path -Path $VenvDir -ChildPath 'Scripts\python.exe'

Write-Host "xlcrm $XlcrmVersion のセットアップを始めます。"
Write-Host "ブック: $Workbook"
if (-not (Test-Path -LiteralPath $Wheel -PathType Leaf)) {
    Fail "このフォルダーに $WheelName がありません。配布された zip をすべて展開してから実行してください。"
}
if (-not (Test-Path -LiteralPath $Workbook -PathType Leaf)) {
    Fail "ブックが見つかりません: $Workbook"
}
# Excel keeps an owner file ~$<name> beside an open workbook; the set-up rewrites the workbook, so ask first
$BookName = [IO.Path]::GetFileName($Workbook)
$OwnerFile = Join-Path -Path ([IO.Path]::GetDirectoryName($Workbook)) -ChildPath ('~$' + $BookName)
if (Test-Path -LiteralPath $OwnerFile -PathType Leaf) {
    Fail "「$BookName」が Excel で開かれています。Excel を閉じてから、もう一度 setup.bat を実行してください。"
}

# --- 1. a real Python 3.11+ ----------------------------------------------------------------------------------
Step 'Python を探しています…'
$candidates = New-Object System.Collections.Generic.List[object]
if (Get-Command -Name 'py.exe' -CommandType Application -ErrorAction SilentlyContinue) {
    foreach ($v in @('-3.13', '-3.12', '-3.11', '-3')) {
        $candidates.Add([pscustomobject]@{ Exe = 'py.exe'; PreArgs = @($v) })
    }
}
foreach ($name in @('python.exe', 'python3.exe')) {
    foreach ($cmd in @(Get-Command -Name $name -CommandType Application -All -ErrorAction SilentlyContinue)) {
        $candidates.Add([pscustomobject]@{ Exe = $cmd.Path; PreArgs = @() })
    }
}
$Python = $null
$sawStore = $false
$tooOld = @()
$only32 = @()
foreach ($c in $candidates) {
    $info = Get-PythonInfo $c.Exe $c.PreArgs
    if ($null -eq $info) {
        if (Test-StorePath $c.Exe) { $sawStore = $true }   # the Store stub answers nothing useful
        continue
    }
    if (Test-StorePath $info.Executable) { $sawStore = $true; continue }
    if ($info.Version -lt $MinVersion) { $tooOld += $info.Executable; continue }
    if ($info.Bits -ne '64') { $only32 += $info.Executable; continue }
    $Python = $info
    break
}
if ($null -eq $Python) {
    $lines = @()
    if ($sawStore) {
        $lines += 'Microsoft Store 版の Python(または「python」と打つと Microsoft Store が開く仮の python.exe)しか見つかりませんでした。Store 版は Excel から使えません。'
    }
    if ($tooOld.Count -gt 0) { $lines += "古い Python しかありません(3.11 以上が必要です): $($tooOld -join ', ')" }
    if ($only32.Count -gt 0) { $lines += "32ビット版の Python は使えません: $($only32 -join ', ')" }
    if ($lines.Count -eq 0) { $lines += 'Python 3.11 以上が見つかりません。' }
    $lines += "python.org から Python(Windows installer (64-bit))をインストールしてください: $StoreHelp"
    $lines += 'インストーラーの最初の画面で「Add python.exe to PATH」にチェックを入れてから「Install Now」を押し、終わったら setup.bat をもう一度実行してください。'
    Fail ($lines -join "`n")
}
Write-Host "使う Python: $($Python.Executable)"

# --- 2. a private environment ----------------------------------------------------------------------------------
Step "xlcrm 専用の Python 環境を用意しています: $VenvDir"
if (Test-Path -LiteralPath $VenvPython -PathType Leaf) {
    & $VenvPython -c 'import sys' 2>$null
    if ($LASTEXITCODE -ne 0) {
        # the Python it was made from is gone (uninstalled or upgraded): make it anew
        Write-Host '以前の環境が使えなくなっているため、作り直します。'
        Remove-Item -LiteralPath $VenvDir -Recurse -Force
    }
}
if (-not (Test-Path -LiteralPath $VenvPython -PathType Leaf)) {
    & $Python.Executable -m venv $VenvDir
    if ($LASTEXITCODE -ne 0 -or -not (Test-Path -LiteralPath $VenvPython -PathType Leaf)) {
        Fail "Python 環境を作れませんでした: $VenvDir"
    }
}

# --- 3. xlcrm and exactly the xlwings the workbook's VBA expects ------------------------------------------------
Step "xlcrm $XlcrmVersion と xlwings $XlwingsVersion をインストールしています(初回は数分かかります)…"
# --prefer-binary: an older wheel rather than a newer source package this PC could not compile
$pip = @('-m', 'pip', 'install', '--disable-pip-version-check', '--no-warn-script-location', '--prefer-binary')
$installed = $false
if (Test-Path -LiteralPath $WheelDir -PathType Container) {
    & $VenvPython @pip --no-index --find-links $WheelDir $Wheel "xlwings==$XlwingsVersion"
    $installed = ($LASTEXITCODE -eq 0)
    if (-not $installed) {
        Write-Host 'このフォルダーの wheels だけでは入れられませんでした。インターネットから取得します…' -ForegroundColor Yellow
    }
}
if (-not $installed) {
    # xlcrm itself always comes from this folder (by file path, never by name from an index)
    & $VenvPython @pip $Wheel "xlwings==$XlwingsVersion"
    if ($LASTEXITCODE -ne 0) {
        Fail 'インストールに失敗しました。インターネットに接続できるか確かめてください(社内のプロキシがある場合は管理者にご相談ください)。'
    }
}
# the same version number may carry a newer build: replace xlcrm itself, leave its dependencies alone
& $VenvPython @pip --force-reinstall --no-deps $Wheel
if ($LASTEXITCODE -ne 0) { Fail "$WheelName をインストールできませんでした。" }

$version = & $VenvPython -c 'import xlwings; print(xlwings.__version__)' 2>$null
if ("$version".Trim() -ne $XlwingsVersion) {
    Fail "xlwings $XlwingsVersion が必要ですが、入っているのは「$version」です。"
}
$dll = Join-Path -Path $VenvDir -ChildPath "xlwings64-$XlwingsVersion.dll"
if (-not (Test-Path -LiteralPath $dll -PathType Leaf)) {
    Fail "xlwings64-$XlwingsVersion.dll が $VenvDir にありません。シート関数が使えません。"
}

# --- 4. point the workbook at this environment -----------------------------------------------------------------
Step 'ブックの xlwings.conf シートに Python の場所を書き込んでいます…'
# Under %LOCALAPPDATA% the path is written with the variable (xlwings expands it), so the same workbook works
# for every person on every PC where this set-up ran, whatever their user name.
$ConfPython = $VenvPython
$local = [IO.Path]::GetFullPath($env:LOCALAPPDATA).TrimEnd('\')
if ($VenvPython.StartsWith($local + '\', [StringComparison]::OrdinalIgnoreCase)) {
    $ConfPython = '%LOCALAPPDATA%' + $VenvPython.Substring($local.Length)
}
& $VenvPython -m xlcrm.cli set-interpreter $Workbook --python $ConfPython
$rc = $LASTEXITCODE
if ($rc -eq 3) {
    Fail "「$BookName」が Excel で開かれています。Excel を閉じてから、もう一度 setup.bat を実行してください。"
}
if ($rc -ne 0) { Fail 'ブックに書き込めませんでした(上のメッセージを確かめてください)。' }

# --- 5. remove the Mark of the Web, so Excel does not block the macros -----------------------------------------
Step 'ダウンロードしたファイルの印(Mark of the Web)を外しています…'
try {
    Unblock-File -LiteralPath $Workbook -ErrorAction Stop
    Get-ChildItem -LiteralPath $Here -File -Recurse -ErrorAction SilentlyContinue | Unblock-File -ErrorAction SilentlyContinue
} catch {
    Write-Host "印を外せませんでした。CRM.xlsm を右クリック →「プロパティ」→「許可する」にチェックしてください。" -ForegroundColor Yellow
}

# --- check, and what to do next ----------------------------------------------------------------------------------
Step '設定を確認しています…'
& $VenvPython -m xlcrm.cli doctor $Workbook
$doctorOk = ($LASTEXITCODE -eq 0)

$docs = [Environment]::GetFolderPath('MyDocuments')
Write-Host ''
if ($doctorOk) {
    Write-Host 'セットアップが完了しました。' -ForegroundColor Green
} else {
    Write-Host 'セットアップは終わりましたが、上の確認で問題が見つかりました。メッセージに従って直してください。' -ForegroundColor Yellow
}
Write-Host '次の手順:'
Write-Host "  1. 「$BookName」を使う場所にコピーします(例: ドキュメント = $docs)。"
Write-Host '  2. Excel で開き、黄色いバーが出たら「編集を有効にする」「コンテンツの有効化」を押します。'
Write-Host "  3. リボンの「CRM」タブ →「環境チェック」で「xlwings $XlwingsVersion」と出れば準備完了です。"
if (-not $doctorOk) { exit 1 }
exit 0
