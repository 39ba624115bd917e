"""The model layer: value types (MAC, DUID, enums and their converters), text checks, and the
typed definitions read from a document (``netupdate.model.defs``).  It may import
``netupdate.errors`` and ``netupdate.document``; nothing here edits or does I/O."""
