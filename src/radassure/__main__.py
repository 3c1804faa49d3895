"""Allow ``python -m radassure``."""

from radassure.cli.main import main

main()
