import sys

from fenghuo.cli import main

sys.exit(main())
