"""The libvirt backend: the same verbs through a libvirt connection, libvirt's errors mapped to
ours.  It may import the layers below ``live``, ``netupdate.store``, and the embedded runtime
pieces it reuses."""
