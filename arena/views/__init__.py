"""Server-rendered pages, split by domain. Views are thin: forms check shapes, services write."""
