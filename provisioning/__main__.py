import sys

from provisioning.doors.cli.main import main

sys.exit(main())
