import sys

if sys.argv[1:2] == ["server"]:   # the program answers it (netupdate/cmdserver)
    from netupdate.cmdserver.control import control
    sys.exit(control(sys.argv[2:]))

from netupdate.cli import main

sys.exit(main())
