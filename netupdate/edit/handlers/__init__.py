"""The section handlers: how each of libvirt's update sections is added, modified and deleted
(matching keys, duplicate rules, parent selection and refusals are libvirt's).  One module per
family, as in ``netupdate.sections``; ``edit.dispatch`` maps section names to them."""
