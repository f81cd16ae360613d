Attribute VB_Name = "XlcrmRibbon"
' xlcrm ribbon callback: every button on the CRM tab calls XlcrmRibbon with its control, and the
' button's tag names the job (see xlcrm/jobs/__init__.py JOBS). Python shows its own messages;
' nothing here needs changing when a job is added.
Option Explicit

Sub XlcrmRibbon(control As IRibbonControl)
    RunPython "import xlcrm.ribbon as r; r.run('" & control.Tag & "')"
End Sub
