"Offline documentation helpers: process the notebooks as `nbdev_docs` would, render HTML and the README without Quarto."
import os, re, sys
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
    text = re.sub(r'\]\(\.\./', '](', text)  # files of the repository, named from nbs/
    return re.sub(r'\]\((\d\d[a-z]?_\w+\.ipynb|index\.ipynb)([#)])', r'](nbs/\1\2', text)

CALLOUT = r'^::: *\{\.callout-(\w+)(?: +title="([^"]*)")?\} *\n(.*?)\n::: *$'  # Quarto's callout blocks

def _callouts_quoted(markdown: str) -> str:
    "Quarto callouts as Markdown block quotes with a bold title (for the README, which GitHub renders without Quarto)."
    import re
    quote = lambda m: '\n'.join(f'> {l}'.rstrip() for l in f"**{m[2] or m[1]}.** {m[3]}".splitlines())
    return re.sub(CALLOUT, quote, markdown, flags=re.M | re.S)

DOCS = ROOT/'docs'  # the site's template, style sheet and pandoc filter
DIRECTIVE = re.compile(r'^#\|\s*([\w-]+)\s*:\s*(.*?)\s*$')  # a Quarto cell option, `#| echo: false`

def cell_options(source: str) -> tuple:
    "A code cell's Quarto options (`#| key: value`) and its code without them (nbdev's own `#|` flags dropped too)."
    import yaml
    options, code = {}, []
    for line in source.splitlines():
        if m := DIRECTIVE.match(line): options[m[1]] = yaml.safe_load(m[2]) if m[2] else True
        elif not line.startswith('#|'): code.append(line)
    return options, '\n'.join(code).strip('\n')

def _fence(text: str, attributes: str) -> str:
    "`text` in a fenced block longer than any run of backticks inside it."
    ticks = '`' * max(3, 1 + max((len(r) for r in re.findall('`+', text)), default=0))
    return f"{ticks}{attributes}\n{text}\n{ticks}"

def _terminal(text: str) -> str:
    "Output as a terminal would leave it: colour codes gone, a line redrawn with carriage returns shown once, finished."
    text = re.sub(r'\x1b\[[0-9;]*[A-Za-z]', '', text)
    return '\n'.join(line.rsplit('\r', 1)[-1] for line in text.rstrip('\n').split('\n'))

def _output(o: dict, options: dict, figure) -> tuple:
    "One output as Quarto writes it: (markdown, whether it goes in as it is). `figure(png_bytes)` -> the image's link and alt text, or None: left out."
    if o['output_type'] == 'stream': return _fence(_terminal(''.join(o['text'])), ' {.cell-output}'), False
    if o['output_type'] == 'error': return _fence(_terminal('\n'.join(o['traceback'])), ' {.cell-output .cell-output-error}'), False
    data = {k: ''.join(v) if isinstance(v, list) else v for k, v in o.get('data', {}).items()}
    if 'image/png' in data:
        import base64, html
        if (shown := figure(base64.b64decode(data['image/png']))) is None: return '', False
        link, alt, caption = (html.escape(s, quote=True) for s in shown)
        return _fence(f'<figure class="figure"><a href="{link}" title="open the figure full size"><img src="{link}" alt="{alt}"></a>'
                      f'<figcaption>{caption}</figcaption></figure>', '{=html}'), False
    if 'text/markdown' in data: return data['text/markdown'], options.get('output') == 'asis'
    if 'text/html' in data: return _fence(data['text/html'], '{=html}'), False
    if 'text/plain' in data: return _fence(data['text/plain'], ' {.cell-output}'), False
    return '', False

def _alt(options: dict, k: int, key: str = 'fig-alt') -> str:
    "The alt text of a cell's `k`-th figure: its `fig-alt` option (one text, or a list with one per figure), else its `fig-cap` (`key='fig-cap'`: the caption, else the alt text)."
    alt = options.get(key) or options.get('fig-cap' if key == 'fig-alt' else 'fig-alt') or ''
    return (alt[min(k, len(alt) - 1)] if alt else '') if isinstance(alt, list) else alt

def quarto_markdown(
    nb: dict,
    save,  # `save(png_bytes)` -> the link of the figure it wrote and its number on the page; None: figures are left out
) -> str:
    "A processed notebook as the Markdown Quarto makes of it: front matter, text, code cells with their options applied, outputs."
    parts = []
    for cell in nb['cells']:
        source = ''.join(cell['source'])
        if cell['cell_type'] != 'code': parts.append(source.strip()); continue
        options, code = cell_options(source)
        if options.get('include') is False: continue
        shown = [_fence(code, ' {.python .cell-code}')] if code and options.get('echo', True) is not False else []
        def figure(png, k=iter(range(99))):
            if not save: return None
            k = next(k); link, number = save(png)
            return link, _alt(options, k), f"Figure {number}: {_alt(options, k, 'fig-cap')}"
        if options.get('output', True) is not False:
            for o in cell.get('outputs', []):
                text, asis = _output(o, options, figure)
                if asis: parts.append('\n\n'.join(shown)); shown = []; parts.append(text)
                elif text: shown.append(f"::: {{.cell-output-display}}\n{text}\n:::" if not text.startswith('```') else text)
        if shown: parts.append('::: {.cell}\n' + '\n\n'.join(shown) + '\n:::')
    return '\n\n'.join(p for p in parts if p) + '\n'

def _front_matter(nb: dict) -> dict:
    import yaml
    raw = next((''.join(c['source']) for c in nb['cells'] if c['cell_type'] == 'raw'), '')
    return yaml.safe_load(raw.strip().strip('-')) or {} if raw.strip().startswith('---') else {}

def _settings() -> dict:
    import configparser
    c = configparser.ConfigParser(); c.read(ROOT/'settings.ini')
    return dict(c['DEFAULT'])

def _site_links(text: str, out: Path, pages: dict) -> str:
    "Links as a reader of the built site follows them: names to their page's anchor, notebooks to their pages, sources to the site's source pages."
    cfg = _settings()
    host = cfg['doc_host'].rstrip('/') + '/' + cfg['doc_baseurl'].strip('/') + '/'
    text = text.replace(host, '')  # nbdev's links to names: page.html#anchor
    text = re.sub(r'\]\((\w+)\.ipynb(#[^)]*)?\)', lambda m: f"]({pages.get(m[1], m[1] + '.ipynb')}{m[2] or ''})", text)
    text = re.sub(r'\]\(\.\./([^)#\s]+)', lambda m: f"]({_site_file(m[1], out)}", text)  # files of the repository, named from nbs/
    if cfg.get('source_links', 'clone') == 'clone':  # nbdev's source links: to the site's own page of that source, at the line
        blob = re.escape(f"{cfg['git_url'].rstrip('/')}/blob/{cfg['branch']}/")
        text = re.sub(blob + r'([\w/]+\.py)#L(\d+)', lambda m: f"{_source_page(m[1], out)}#L{m[2]}", text)
    return text

def _site_file(path: str, out: Path) -> str:
    "A file of the repository (LICENSE, a screenshot) copied into the site's `files/`, so that the site works away from the clone; its link."
    import shutil
    if not (ROOT/path).is_file(): return Path(os.path.relpath(ROOT/path, out)).as_posix()  # a folder: only the clone has it
    (out/'files'/path).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT/path, out/'files'/path)
    return f'files/{path}'

def _source_page(path: str, out: Path) -> str:
    "The library file `path` as a page of the site, numbered and highlighted by pandoc, each line with its anchor (`#L12`); its link."
    import pypandoc, tempfile
    page = f"source/{path}.html"
    if not (out/page).exists():
        (out/page).parent.mkdir(parents=True, exist_ok=True)
        up = '../' * (page.count('/'))
        with tempfile.NamedTemporaryFile('w', suffix='.html') as header:
            header.write(f'<p class="source-back"><a href="{up}index.html">pstl</a> · <code>{path}</code>, as the site was built</p>'); header.flush()
            body = pypandoc.convert_text(_fence((ROOT/path).read_text(), ' {.python .numberLines}'), 'html5', format='markdown', extra_args=[
                '--standalone', '--syntax-highlighting=pygments', f'--metadata=title:{path}', '--metadata=pagetitle:' + path, '-V', 'maxwidth=none',
                f'--css={up}site.css', f'--include-before-body={header.name}', '-V', 'document-css=false'])
        body = re.sub(r'id="cb1-(\d+)"', r'id="L\1"', body).replace('href="#cb1-', 'href="#L')  # pandoc's line anchors, named as source links name lines
        (out/page).write_text(body.replace('<body>', '<body class="source-page">', 1))
    return page

def render_site(out=None) -> Path:
    "The documentation site: nbdev's notebook processing, Quarto's cell options, then pandoc (MathML, highlighting, callouts, contents)."
    import html, json, shutil, pypandoc
    out = Path(out or ROOT/'_docs'); (out/'figures').mkdir(parents=True, exist_ok=True)
    nbs = processed_notebooks()
    nbs = [p for p in nbs if p.name == 'index.ipynb'] + [p for p in nbs if p.name != 'index.ipynb']
    books = {p.stem: json.loads(p.read_text()) for p in nbs}
    meta = {stem: _front_matter(nb) for stem, nb in books.items()}
    pages = {stem: m.get('output-file', f'{stem}.html') if stem != 'index' else 'index.html' for stem, m in meta.items()}
    number = lambda stem: '' if stem == 'index' else f'<span class="number">{stem.partition("_")[0]}</span>'
    shutil.copy(DOCS/'site.css', out/'site.css')
    stems, search = list(books), []
    for i, stem in enumerate(stems):
        def save(png, n=[0], stem=stem):
            n[0] += 1; name = f'figures/{pages[stem][:-5]}-{n[0]}.png'
            (out/name).write_bytes(png); return name, n[0]
        sidebar = '<ol>' + ''.join(f'<li><a href="{pages[s]}"{" aria-current=page" if s == stem else ""}>{number(s)}'
                                    f'{html.escape(meta[s].get("title", s))}</a></li>' for s in stems) + '</ol>'
        link = lambda s, cls, arrow: f'<a class="{cls}" href="{pages[s]}">{arrow}{html.escape(meta[s].get("title", s))}</a>' if s else ''
        pager = link(stems[i - 1] if i else None, 'prev', '← ') + link(stems[i + 1] if i + 1 < len(stems) else None, 'next', '→ ')
        markdown = _site_links(quarto_markdown(books[stem], save), out, pages)
        notebook = _site_file(f'nbs/{stem}.ipynb', out)  # the page's notebook, to download and run
        page = pypandoc.convert_text(markdown, 'html5', format='markdown-raw_tex-implicit_figures', extra_args=[
            '--standalone', f'--template={DOCS/"template.html"}', '--mathml', '--toc', '--toc-depth=3',
            f'--lua-filter={DOCS/"callouts.lua"}', '--syntax-highlighting=pygments', '--wrap=none',
            '-V', f'sidebar={sidebar}', '-V', f'pager={pager}', '-V', f"site-description={_settings()['description']}", '-V', f'notebook={notebook}'])
        (out/pages[stem]).write_text(page)
        search += _search_entries(page, pages[stem], meta[stem].get('title', stem))
    (out/'search.js').write_text('window.PSTL_SEARCH = ' + json.dumps(search, ensure_ascii=False) + ';\n')
    _unlink_missing_anchors(out, pages.values())
    return out/'index.html'

def _search_entries(page_html: str, page: str, title: str) -> list:
    "The search index's entries for one page: one per section (heading, its anchor, its words), for the search box's own script."
    import html
    article = page_html.split('<article>', 1)[-1].split('</article>', 1)[0]
    article = re.sub(r'<(script|style|math)\b.*?</\1>', ' ', article, flags=re.S)
    parts = re.split(r'(<h[1-4][^>]*\bid="[^"]+"[^>]*>.*?</h[1-4]>)', article, flags=re.S)
    words = lambda s: re.sub(r'\s+', ' ', html.unescape(re.sub(r'<[^>]+>', ' ', s))).strip()
    entries, heading, anchor = [], title, ''
    for part in parts:
        if m := re.match(r'<h[1-4][^>]*\bid="([^"]+)"[^>]*>(.*?)</h[1-4]>', part, re.S): anchor, heading = m[1], words(m[2])
        elif text := words(part): entries.append(dict(page=page, title=title, heading=heading, anchor=anchor, text=text[:3000]))
    return entries

def _unlink_missing_anchors(out: Path, pages):
    "nbdev links every exported name, private helpers too; a name with no entry on its page keeps its code span, not a link to nowhere."
    ids = {page: set(re.findall(r' id="([^"]+)"', (out/page).read_text())) for page in pages}
    link = re.compile(r'<a href="(?P<target>[\w.-]+\.html)?#(?P<anchor>[^"]+)"[^>]*>(?P<inner>.*?)</a>', re.S)
    for page in pages:
        text = (out/page).read_text()
        keep = lambda m: m[0] if m['anchor'] in ids.get(m['target'] or page, ()) or (m['target'] and m['target'] not in ids) else m['inner']
        (out/page).write_text(link.sub(keep, text))

def open_browser():
    "Headless Chromium (Debian's `chromium`) through Playwright, as a context manager; skips the calling test where there is none."
    import contextlib, shutil
    chromium = shutil.which('chromium') or shutil.which('chromium-browser')
    if chromium is None:
        import pytest
        print('\nno chromium on this machine (apt-get install chromium): the site is not checked in a browser')
        pytest.skip('no chromium on this machine (apt-get install chromium)')
    from playwright.sync_api import sync_playwright
    @contextlib.contextmanager
    def browser():
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=chromium, args=['--no-sandbox', '--disable-gpu', '--disable-background-networking'])
            try: yield b
            finally: b.close()
    return browser()

def screenshots(out=ROOT/'docs') -> list:
    "The index at a desktop's and a phone's width, as PNGs for a reviewer who does not build the site."
    site = render_site()
    with open_browser() as browser:
        shots = []
        for width in (1280, 390):
            page = browser.new_page(viewport=dict(width=width, height=900))
            page.goto(site.as_uri()); page.wait_for_load_state('load')
            page.screenshot(path=str(Path(out)/f'index-{width}px.png')); shots.append(Path(out)/f'index-{width}px.png')
    return shots

def build_docs(out=None) -> Path:
    "The rendered documentation: `nbdev_docs` (Quarto) where Quarto is installed, `render_site` (pandoc) where it is not."
    import shutil, subprocess
    if shutil.which('quarto') and out is None:
        subprocess.run(['nbdev_docs'], cwd=ROOT, check=True)
        return ROOT/'_docs'/'index.html'
    return render_site(out)

def render_readme():
    "README.md's text: the processed `index.ipynb` as the site has it (`quarto_markdown`), through pandoc's GitHub Markdown writer; figures stay on the site."
    import json, pypandoc
    index = next(p for p in processed_notebooks() if p.name == 'index.ipynb')
    nb = json.loads(index.read_text())
    meta = _front_matter(nb)
    markdown = _callouts_quoted(quarto_markdown(nb, save=None))  # a figure would need a file beside the README
    body = pypandoc.convert_text(markdown, 'gfm-raw_html', format='markdown-raw_tex-implicit_figures-smart', extra_args=['--wrap=preserve'])
    body = re.sub(r'^``` cell-output$', '```text', body.replace('<!-- WARNING: THIS FILE WAS AUTOGENERATED! DO NOT EDIT! -->', ''), flags=re.M)
    body = _local_links(body.strip())
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
    usage = 'usage: python tests/docs_tools.py readme | docs | screenshots | execute [--slow] [NOTEBOOK_STEM ...]'
    if sys.argv[1:2] == ['docs']: print('documentation:', build_docs())
    elif sys.argv[1:2] == ['screenshots']: print('wrote', *screenshots())
    elif sys.argv[1:2] == ['readme']:
        (ROOT/'README.md').write_text(render_readme())
        print('wrote', ROOT/'README.md')
    elif sys.argv[1:2] == ['execute']:
        names = [a for a in sys.argv[2:] if a != '--slow']
        execute_notebooks(names, slow='--slow' in sys.argv[2:])
    else: sys.exit(usage)
