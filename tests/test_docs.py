"The documentation builds: every processed notebook converts to HTML, and the README matches index.ipynb."
from nbconvert import HTMLExporter
from docs_tools import ROOT, processed_notebooks, render_readme

def test_processed_notebooks_convert_to_html():
    nbs = processed_notebooks()
    assert {p.name for p in nbs} >= {'index.ipynb', '00_graph.ipynb', '05_loss.ipynb'}
    for nb in nbs:
        html, _ = HTMLExporter().from_filename(str(nb))
        assert '<html' in html and len(html) > 1000, nb.name

def test_readme_is_generated_from_index():
    assert (ROOT/'README.md').read_text() == render_readme(), \
        "README.md is out of date: run `python tests/docs_tools.py readme`"
