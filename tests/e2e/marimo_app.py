"""A marimo app that shows the widget on the four-colour toy (tests/e2e/test_marimo.py runs it).

Run by hand, from the repository root: PYTHONPATH=. marimo run tests/e2e/marimo_app.py
"""

import marimo

app = marimo.App()


@app.cell
def _():
    import marimo as mo

    import occlusion_widget as ow
    from tests.e2e.toy_colours import LABELS, toy_image, toy_model

    return LABELS, mo, ow, toy_image, toy_model


@app.cell
def _(LABELS, mo, ow, toy_image, toy_model):
    widget = ow.OcclusionWidget(toy_model, toy_image(), labels=LABELS)
    widget.wait()
    view = mo.ui.anywidget(widget)
    view  # noqa: B018 (marimo shows a cell's last expression)
    return


if __name__ == "__main__":
    app.run()
