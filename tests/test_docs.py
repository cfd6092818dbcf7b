"The documentation builds: every processed notebook converts to HTML, and the README matches index.ipynb."
from nbconvert import HTMLExporter
from docs_tools import ROOT, processed_notebooks, render_readme, render_site

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

def test_the_rendered_site_is_browsable(tmp_path):
    "Without Quarto: an index with navigation to every notebook's page, every internal link and image resolving."
    import re
    from html.parser import HTMLParser
    index = render_site(tmp_path/'site')
    pages = sorted(p.name for p in (tmp_path/'site').glob('*.html'))
    assert len(pages) == len(list((ROOT/'nbs').glob('*.ipynb'))) and 'index.html' in pages
    class Links(HTMLParser):
        def __init__(self): super().__init__(); self.links, self.images, self.ids = [], [], set()
        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if 'id' in a: self.ids.add(a['id'])
            if tag == 'a' and a.get('href'): self.links.append(a['href'])
            if tag == 'img' and a.get('src'): self.images.append(a['src'])
    parsed = {}
    for name in pages: parsed[name] = Links(); parsed[name].feed((tmp_path/'site'/name).read_text())
    nav = [l for l in parsed['index.html'].links if l.endswith('.html')]
    assert set(pages) <= set(nav), "the navigation names every page"
    for name, p in parsed.items():
        for link in p.links:
            assert 'pstl-dev.github.io' not in link, (name, link)  # the documentation site is not published
            if re.match(r'[a-z]+:', link): continue  # the web, not the site
            target, _, anchor = link.partition('#')
            assert not target or (tmp_path/'site'/target).exists(), (name, link)
            if anchor and target.endswith('.html'): assert anchor in parsed[target].ids, (name, link)
        assert all(src.startswith('data:image/') for src in p.images), (name, [s[:40] for s in p.images if not s.startswith('data:')])
    assert sum(len(p.images) for p in parsed.values()) > 5  # the figures are in the pages
    texts = {name: (tmp_path/'site'/name).read_text() for name in pages}
    assert not [name for name, t in texts.items() if '::: {.callout' in t], "Quarto callouts are rendered, not shown as text"
    assert all(f'callout callout-{kind}' in texts['06_pretrain.html'] for kind in ('note', 'warning', 'tip'))  # the three voices
