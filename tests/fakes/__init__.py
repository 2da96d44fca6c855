"""Local fakes of outside services (WeChat Pay, Alipay), reached over real HTTP on 127.0.0.1."""
