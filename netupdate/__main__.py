import sys

from netupdate.cli import main

sys.exit(main())
