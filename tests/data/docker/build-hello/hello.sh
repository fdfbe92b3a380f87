echo "hello from tend-test/hello"
