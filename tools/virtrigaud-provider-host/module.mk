# virtrigaud-provider-host: serves one provider plugin over a socket with
# mutual TLS (OpenSSL); cJSON for the wire's message headers.
virtrigaud-provider-host_PKGS := libcjson openssl
virtrigaud-provider-host_LIBS := -lpthread
