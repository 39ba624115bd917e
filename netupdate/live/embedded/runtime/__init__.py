"""The embedded live runtime: bridge, dnsmasq and firewall drivers."""
