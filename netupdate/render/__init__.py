"""The render layer: text generated from a definition, the dnsmasq configuration and host files
and the nftables rule set.  It may import errors, document, model and sections, not its
siblings edit, check and planning; it only returns text and does no I/O."""
