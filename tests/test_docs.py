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

def test_the_readmes_python_runs():
    "Every Python block of the README runs as it stands (a reader copies it)."
    blocks, current, language = [], None, None
    for line in (ROOT/'README.md').read_text().splitlines():
        if line.startswith('```'):
            if current is None: current, language = [], line[3:].strip()
            else:
                if language in ('', 'python'): blocks.append('\n'.join(current))
                current = None
        elif current is not None: current.append(line)
    python = [b for b in blocks if 'import ' in b]
    assert python, "no Python block found in the README"
    for block in python: exec(compile(block, 'README.md', 'exec'), {})

def test_the_readmes_links_resolve_in_a_clone():
    "Every relative link of the README names a file of the repository."
    import re
    text = (ROOT/'README.md').read_text()
    links = re.findall(r'\]\(([^)#\s]+)(?:#[^)]*)?\)', text)
    local = [l for l in links if not re.match(r'\w+://', l)]
    assert local, "no relative link found"
    assert [l for l in local if not (ROOT/l).exists()] == []
    assert 'pstl-dev.github.io' not in text  # the documentation site is not published
