"""Optional bridges to other tools (imported on demand, never by ``import cnnwidgets``)."""
