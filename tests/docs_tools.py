"Offline documentation helpers: process the notebooks as `nbdev_docs` would, render HTML and the README without Quarto."
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def processed_notebooks(force=True):
    "Run nbdev's notebook processing (hidden cells, flags, show_doc) into `_proc/` and list the results."
    import os
    from nbdev.serve import proc_nbs
    cwd = os.getcwd(); os.chdir(ROOT)
    try: cache = proc_nbs(force=force, n_workers=0)
    finally: os.chdir(cwd)
    return sorted(Path(cache).glob('*.ipynb'))

def _notebook_of(page: str):
    "The notebook whose module nbdev's doc links name (`.../pstl/bench.html` -> `10_bench`), or None."
    found = sorted((ROOT/'nbs').glob(f'*_{page}.ipynb'))
    return found[0].stem if found else None

DOC_LINK = r'https://pstl-dev\.github\.io/pstl/(\w+)\.html(?:#[\w.-]+)?'  # nbdev's links to the (unpublished) site

def _local_links(text):
    "Links between notebooks, and nbdev's links to the unpublished site, point into `nbs/`, so they resolve in a clone."
    import re
    text = re.sub(DOC_LINK, lambda m: f"nbs/{nb}.ipynb" if (nb := _notebook_of(m.group(1))) else m.group(0), text)
    return re.sub(r'\]\((\d\d[a-z]?_\w+\.ipynb|index\.ipynb)([#)])', r'](nbs/\1\2', text)

SITE_CSS = """body{margin:0;font:15px/1.5 system-ui,sans-serif;color:#222;display:flex}
nav{position:sticky;top:0;height:100vh;overflow:auto;min-width:15em;padding:1em;background:#f6f6f6;border-right:1px solid #ddd}
nav a{display:block;padding:.15em 0;color:#1a5fb4;text-decoration:none}nav a.here{font-weight:bold;color:#222}
main{padding:1em 2em;max-width:62em;overflow-x:auto}pre{background:#f8f8f8;padding:.6em;overflow-x:auto}
img{max-width:100%}table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.2em .5em}
.callout{border-left:4px solid;padding:.1em 1em;margin:1em 0;background:#fafafa}.callout-title{font-weight:bold;margin:.5em 0 0}
.callout-note{border-color:#1a5fb4}.callout-warning{border-color:#c64600}.callout-tip{border-color:#26a269}"""

CALLOUT = r'^::: *\{\.callout-(\w+)(?: +title="([^"]*)")?\} *\n(.*?)\n::: *$'  # Quarto's callout blocks

def _callouts(markdown: str) -> str:
    "Quarto callouts as HTML blocks the notebook exporter keeps (its content still read as markdown)."
    import re, html
    return re.sub(CALLOUT, lambda m: f'<div class="callout callout-{m[1]}"><p class="callout-title">{html.escape(m[2] or m[1])}</p>\n\n'
                  f'{m[3]}\n\n</div>', markdown, flags=re.M | re.S)

def _title(nb) -> str:
    "A processed notebook's title: its front matter's, or its first heading's."
    import re
    text = nb.read_text()
    m = re.search(r'title: (.+?)\\n', text) or re.search(r'"# (.+?)\\n', text)
    return m.group(1).strip('"') if m else nb.stem

def _site_links(html_text: str, out: Path) -> str:
    "In a rendered page: links between notebooks go to their pages; files of the repository it links to are copied beside it."
    import re, shutil
    html_text = re.sub(r'href="(\d\d[a-z]?_\w+|index)\.ipynb', r'href="\1.html', html_text)
    html_text = re.sub(DOC_LINK, lambda m: f"{nb}.html" if (nb := _notebook_of(m.group(1))) else m.group(0), html_text)
    for target in re.findall(r'href="(?![a-z]+:|#)([^"#]+)"', html_text):
        if not target.endswith('.html') and (ROOT/target).is_file(): (out/target).parent.mkdir(parents=True, exist_ok=True); shutil.copy(ROOT/target, out/target)
    return html_text

def _callouts_quoted(markdown: str) -> str:
    "Quarto callouts as Markdown block quotes with a bold title (for the README, which GitHub renders without Quarto)."
    import re
    quote = lambda m: '\n'.join(f'> {l}'.rstrip() for l in f"**{m[2] or m[1]}.** {m[3]}".splitlines())
    return re.sub(CALLOUT, quote, markdown, flags=re.M | re.S)

def render_site(out=None) -> Path:
    "Every notebook as an HTML page with a navigation bar and its figures embedded, in `_docs/` (for machines without Quarto)."
    import html, nbformat
    from nbconvert import HTMLExporter
    out = Path(out or ROOT/'_docs'); out.mkdir(parents=True, exist_ok=True)
    nbs = processed_notebooks()
    nbs = [p for p in nbs if p.name == 'index.ipynb'] + [p for p in nbs if p.name != 'index.ipynb']
    titles = {p.stem: _title(p) for p in nbs}
    labels = {s: t if s == 'index' else f"{s.partition('_')[0]} {t}" for s, t in titles.items()}  # '01a A synthetic data set'
    for nb in nbs:
        nav = ''.join(f'<a href="{s}.html"{" class=here" if s == nb.stem else ""}>{html.escape(label)}</a>' for s, label in labels.items())
        notebook = nbformat.read(nb, as_version=4)
        for cell in notebook.cells:
            if cell.cell_type == 'markdown': cell.source = _callouts(cell.source)
        body, _ = HTMLExporter(template_name='basic').from_notebook_node(notebook)  # images are embedded as data: URIs
        page = (f'<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(titles[nb.stem])}</title>'
                f'<style>{SITE_CSS}</style></head><body><nav>{nav}</nav><main>{_site_links(body, out)}</main></body></html>')
        (out/f'{nb.stem}.html').write_text(page)
    return out/'index.html'

def build_docs(out=None) -> Path:
    "The rendered documentation: `nbdev_docs` (Quarto) where Quarto is installed, `render_site` where it is not."
    import shutil, subprocess
    if shutil.which('quarto') and out is None:
        subprocess.run(['nbdev_docs'], cwd=ROOT, check=True)
        return ROOT/'_docs'/'index.html'
    return render_site(out)

def render_readme():
    "README.md's text: the processed `index.ipynb` as Markdown."
    from nbconvert import MarkdownExporter
    index = next(p for p in processed_notebooks() if p.name == 'index.ipynb')
    import yaml
    import nbformat
    from traitlets.config import Config
    nb = nbformat.read(str(index), as_version=4)
    for cell in nb.cells:  # `#| echo: false`: the output without the code, as Quarto renders it
        if cell.cell_type == 'markdown': cell.source = _callouts_quoted(cell.source)
        if cell.cell_type == 'code' and cell.source.lstrip().startswith('#| echo: false'): cell.metadata.setdefault('tags', []).append('remove_input')
        if cell.cell_type == 'code':  # a figure needs a file beside the README: the notebook and the rendered docs show it instead
            cell.outputs = [o for o in cell.outputs if not any(k.startswith('image/') for k in o.get('data', {}))]
    config = Config(); config.TagRemovePreprocessor.remove_input_tags = {'remove_input'}; config.TagRemovePreprocessor.enabled = True
    body, _ = MarkdownExporter(config=config).from_notebook_node(nb)
    _, front, body = body.split('---', 2)  # Quarto front matter: title and description
    meta = yaml.safe_load(front)
    body = body.replace('<!-- WARNING: THIS FILE WAS AUTOGENERATED! DO NOT EDIT! -->', '').strip()
    body = _local_links(body)
    note = '<!-- generated from nbs/index.ipynb by `python tests/docs_tools.py readme`; do not edit -->'
    return f"{note}\n\n# {meta['title']}\n\n> {meta['description']}\n\n{body}\n"

def execute_notebooks(names=(), slow=False):
    "Run notebooks in place with execnb (as `nbdev_test` does), so their saved outputs are current; `#| slow` cells only with `slow`, `#| eval: false` never."
    import os
    from execnb.nbio import read_nb, write_nb
    from execnb.shell import CaptureShell
    for path in sorted((ROOT/'nbs').glob('*.ipynb')):
        if names and path.stem not in names: continue
        nb = read_nb(path)
        cwd = os.getcwd(); os.chdir(path.parent)
        skip = lambda cell: '#| eval: false' in cell.source or (not slow and '#| slow' in cell.source)
        try: CaptureShell(path).run_all(nb, exc_stop=True, preproc=skip)
        finally: os.chdir(cwd)
        write_nb(nb, path)
        print('executed', path.name)

if __name__ == '__main__':
    usage = 'usage: python tests/docs_tools.py readme | docs | execute [--slow] [NOTEBOOK_STEM ...]'
    if sys.argv[1:2] == ['docs']: print('documentation:', build_docs())
    elif sys.argv[1:2] == ['readme']:
        (ROOT/'README.md').write_text(render_readme())
        print('wrote', ROOT/'README.md')
    elif sys.argv[1:2] == ['execute']:
        names = [a for a in sys.argv[2:] if a != '--slow']
        execute_notebooks(names, slow='--slow' in sys.argv[2:])
    else: sys.exit(usage)
