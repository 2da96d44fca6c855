"""Tariffs over GraphQL: the price in force at a station (anyone may read it) and publishing a new version."""
