"""The embedded backend: the ``Connection`` that defines, starts, updates and recovers networks
with our own runtime drivers (``runtime``: bridge, dnsmasq, netns, nft).  It may import the
layers below ``live``, ``netupdate.store`` and ``netupdate.live.txn``."""
