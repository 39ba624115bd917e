"""The document layer: safe parsing of network XML (size and depth limits, no entities or
network access) and the source-preserving document that edits keep formatting in.  It imports
only ``netupdate.errors``; everything else builds on it."""
