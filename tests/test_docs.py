"The README matches index.ipynb, its Python runs and its links resolve (the site itself: test_site.py)."
import re
from docs_tools import ROOT, render_readme

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

def test_every_entry_of_the_api_has_its_own_docstring():
    "A page shows each definition's own docstring (00b_docs's `ApiDoc`): one inherited from PyTorch, or none, would show nothing useful."
    import importlib, inspect, pkgutil, pstl
    from pstl.docs import ApiDoc
    missing = []
    for m in pkgutil.iter_modules(pstl.__path__):
        if m.name.startswith('_'): continue
        module = importlib.import_module(f'pstl.{m.name}')
        for name in getattr(module, '__all__', []):
            obj = getattr(module, name)
            if not (inspect.isfunction(obj) or inspect.isclass(obj)): continue
            if not ApiDoc(obj).own_doc(): missing.append(f'{m.name}.{name}')
            if inspect.isclass(obj) and obj.__module__ == module.__name__:
                missing += [f'{m.name}.{name}.{k}' for k, v in vars(obj).items()
                            if inspect.isfunction(v) and not k.startswith('_') and not ApiDoc(v).own_doc()]
    assert missing == []

def test_cells_ending_in_a_value_show_it():
    "A cell whose last line is a value (a name, a tuple, a comparison: not a call, which may return None) has its output committed."
    import ast, json
    silent = []
    for path in sorted((ROOT/'nbs').glob('*.ipynb')):
        for cell in json.loads(path.read_text())['cells']:
            source = ''.join(cell['source'])
            if cell['cell_type'] != 'code' or cell.get('outputs') or re.search(r'^#\|\s*(export|hide|eval:\s*false|slow)', source, re.M): continue
            try: last = ast.parse(source).body[-1]
            except (SyntaxError, IndexError): continue
            if isinstance(last, ast.Expr) and not isinstance(last.value, ast.Call) and not source.rstrip().endswith(';'):
                silent.append((path.name, source.strip().splitlines()[-1]))
    assert silent == [], "run `python tests/docs_tools.py execute NOTEBOOK` to save their outputs"
