"""What the tests share: paths, fixtures, stand-in servers, a scripted backend."""
