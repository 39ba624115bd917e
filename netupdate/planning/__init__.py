"""The planning layer: the differ (``ChangeSet``), the planner (what a change does to a running
network) and the policy (pure: it is given the policy).  It may import errors, document, model
and sections, not its siblings edit, check and render.  The package is called ``planning``
because ``netupdate.plan`` is a public function that a subpackage of that name would shadow."""
