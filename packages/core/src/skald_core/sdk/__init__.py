"""The SDK surface shared by every client: the Session objects and the client protocols."""
