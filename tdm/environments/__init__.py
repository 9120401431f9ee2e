"""Test environments: their config file, schema drift, and the load gate that puts a valid
version into one."""
