import sys

if "server" in sys.argv[1:]:   # the program answers that verb (netupdate/cmdserver)
    from netupdate.cmdserver.control import control
    sys.exit(control(sys.argv[1:]))

from netupdate.cli import main

sys.exit(main())
