import sys

from videoforge.cli import main

sys.exit(main())
