"""The edit layer: ``apply_update``/``update_xml``/``Change`` (``engine``), the edit with undo
(``context``), one handler per section family (``handlers/``, found through ``dispatch``), the
guarded nodeSpec (XPath) evaluation (``nodespec``, ``xpathguard``), element placement and host
indexes.  It may import errors, document, model and sections, not its siblings check, planning
and render; no I/O (the nodeSpec guard's forked child excepted)."""
