{
  # Source of truth for the native build. CMakeLists.txt mirrors these sources,
  # defines and flags for cmake-js; keep the two in step.
  "targets": [
    {
      "target_name": "urlsession",
      "sources": [
        "native/addon.cc",
        "native/bridge/session_wrap.cc",
        "native/bridge/event_to_js.cc",
        "native/bridge/file_lock_wrap.cc",
        "native/bridge/wire_test_encoder.cc",
        "native/core/event_queue.cc",
        "native/core/error_codes.cc",
        "native/core/file_ops.cc",
        "native/core/file_lock.cc",
        "native/core/headers.cc",
        "native/core/content_disposition.cc",
        "native/core/digest_file.cc",
        "native/core/download_writer.cc",
        "native/core/segment_plan.cc",
        "native/core/segment_rules.cc",
        "native/core/cookie_limits.cc",
        "native/core/speed_shares.cc",
        "native/core/body_stream.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "native"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "NAPI_CPP_EXCEPTIONS"
      ],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-fvisibility=hidden", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "conditions": [
        ["OS=='linux'", {
          "sources": [
            "native/curl/curl_engine.cc",
            "native/curl/host_admission.cc",
            "native/curl/usable_cpus.cc",
            "native/curl/curl_transfer.cc",
            "native/curl/curl_segments.cc",
            "native/curl/curl_errors.cc",
            "native/curl/curl_cookie_store.cc",
            "native/curl/epoll_multi_driver.cc",
            "native/curl/engine_factory_curl.cc",
            "native/curl/digest_openssl.cc"
          ],
          "libraries": ["-lcurl", "-lcrypto", "-lpthread"]
        }],
        ["OS=='mac'", {
          "sources": [
            "native/apple/digest_commoncrypto.cc",
            "native/apple/apple_configuration.cc",
            "native/apple/apple_session_model.cc",
            "native/apple/apple_body_stream.cc",
            "native/apple/apple_segments.cc",
            "native/apple/background_files.cc",
            "native/apple/cookie_jar_file.cc",
            "native/apple/spki_der.cc",
            "native/apple/task_tag.cc",
            "native/apple/apple_bound_stream.mm",
            "native/apple/apple_delegate.mm",
            "native/apple/apple_engine.mm",
            "native/apple/apple_foundation.mm",
            "native/apple/engine_factory_apple.mm"
          ],
          "link_settings": {
            "libraries": [
              "$(SDKROOT)/System/Library/Frameworks/Foundation.framework",
              "$(SDKROOT)/System/Library/Frameworks/Security.framework",
              "$(SDKROOT)/System/Library/Frameworks/CFNetwork.framework"
            ]
          },
          "xcode_settings": {
            "MACOSX_DEPLOYMENT_TARGET": "11.0",
            "CLANG_ENABLE_OBJC_ARC": "YES",
            "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
            "CLANG_CXX_LIBRARY": "libc++",
            "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
            "GCC_SYMBOLS_PRIVATE_EXTERN": "YES",
            "OTHER_CFLAGS": ["-Wall", "-Wextra", "-Wno-unused-parameter"]
          }
        }]
      ]
    }
  ]
}
