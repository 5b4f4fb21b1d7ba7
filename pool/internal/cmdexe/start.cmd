@echo off
call "%~dp0init.cmd" >"%~dp0init.log" 2>&1
if %errorlevel% neq 0 exit /b %errorlevel%
"%~1" /d /u /s /c "cd & set" >"%~dp0env"
