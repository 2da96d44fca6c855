"""Station files and pile diagnostics: byte storage (a local directory or S3), signed links, content sniffing."""
