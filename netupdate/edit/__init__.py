"""The edit layer: ``apply_update``/``update_xml``/``Change``, the editing engine with undo,
host indexes, element placement and the guarded nodeSpec (XPath) evaluation.  It may import
errors, document, model and sections, not its siblings check, planning and render; no I/O
(the nodeSpec guard's forked child excepted)."""
