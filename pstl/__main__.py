"`python -m pstl`: the same as the `pstl` console script (see nbs/08_cli.ipynb)."
from pstl.cli import main

if __name__ == "__main__": main()
