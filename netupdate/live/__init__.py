"""The live layer: applying definitions and edits to running networks through a backend
(``embedded``: our own bridge + dnsmasq + nftables runtime; ``libvirt``) with transactions
(``txn``).  It may import every layer below it and ``netupdate.store``; only the CLI is above."""
