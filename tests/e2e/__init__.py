"""Browser tests: the widget in JupyterLab, Notebook 7, marimo and the standalone page (README)."""
