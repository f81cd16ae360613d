# Puts the repository root first on sys.path, so tests import this tree's xlcrm even when another copy is installed.
