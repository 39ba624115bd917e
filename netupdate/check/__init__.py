"""The check layer: the grammar (RelaxNG/XSD with the fast value path, reading the grammar
files from the package data ``netupdate.rng``) and the semantic rules with stable codes.  It
may import errors, document, model and sections, not its siblings edit, planning and render."""
