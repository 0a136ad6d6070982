# The in-memory mock provider: build/plugins/mock.so
mock_PKGS := libcjson
mock_LIBS := -lpthread
