"""The routes and addresses a definition wants, in the forms the kernel shows them."""

from __future__ import annotations

import ipaddress

from netupdate.model.defs import IpDef, NetworkDef


def route_dict(route) -> dict:
    prefix = route.prefix
    if prefix is None and route.address is not None:
        prefix = IpDef(address=route.address).effective_prefix
    network = ipaddress.ip_network(f"{route.address}/{prefix}", strict=False)
    return {"address": str(network), "gateway": str(route.gateway), "metric": route.metric}


def want_routes(defs: NetworkDef) -> list[dict]:
    return [route_dict(r) for r in defs.routes if r.address is not None and r.gateway]


def _norm_route(route: dict) -> tuple:
    """A route's identity; no metric is the kernel's default (IPv4 0, IPv6 1024)."""
    network = ipaddress.ip_network(route["address"], strict=False)
    metric = route.get("metric")
    if metric is None:
        metric = 1024 if network.version == 6 else 0
    return (str(network), str(ipaddress.ip_address(route["gateway"])), metric)


def _norm_addr(address: str) -> str:
    return str(ipaddress.ip_interface(address))
