"""The `drill` console script: the cyclic garbage collector is off before typer and drill's
modules are imported, not only once `run` starts. Start-up makes many objects and no garbage;
the twenty-odd collections its imports set off each walked them all again."""

import gc


def main() -> None:
    gc.disable()
    from drillkit.cli.main import run  # only now: importing it is most of a command's start-up

    run()
