@echo off
rem xlcrm set-up: double-click this file. It runs setup.ps1 (beside it) in Windows PowerShell with
rem -ExecutionPolicy Bypass for this run only. The lines before "chcp 65001" are ASCII; the messages after it
rem are UTF-8 (this file has no BOM: cmd would read a BOM as part of the first command).
setlocal
for /f "tokens=2 delims=:" %%a in ('chcp') do set "XLCRM_OLDCP=%%a"
chcp 65001 >nul
set "XLCRM_RC=1"
if not exist "%~dp0setup.ps1" (
    echo setup.ps1 が見つかりません。zip ファイルをすべて展開してから、展開したフォルダーの setup.bat を実行してください。
    goto end
)
powershell.exe -NoProfile -ExecutionPolicy Bypass -File "%~dp0setup.ps1" %*
set "XLCRM_RC=%ERRORLEVEL%"
:end
echo.
pause
if defined XLCRM_OLDCP chcp %XLCRM_OLDCP% >nul
exit /b %XLCRM_RC%
