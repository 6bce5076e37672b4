/*
 * Boots GraphiQL for the Sales API. It is a file of its own, never an inline script, so
 * the page's Content-Security-Policy can refuse every inline script.
 */
(function () {
  "use strict";

  var TOKEN_PLACEHOLDER = "Bearer <paste a token from POST /oauth/token>";

  // In development (the service runs its built-in issuer) the page has a button that gets
  // a demo token; the server leaves it out otherwise, and then no token is ever asked for.
  var demoButton = document.getElementById("demo-token");
  var demoStatus = document.getElementById("demo-token-status");

  // What every call needs (README "Requests"); a new user sees what to fill in.
  var DEFAULT_HEADERS = JSON.stringify(
    {
      Authorization: TOKEN_PLACEHOLDER,
      "Entur-POS": "explorer",
      "Entur-Distribution-Channel": "ENT:DistributionChannel:Web",
    },
    null,
    2
  );

  var STEPS = demoButton
    ? [
        "# 1. The Headers below hold a demo token",
        "#    (demo-app, organisation 1); the button",
        "#    'Use a demo token' above gets a fresh one.",
        "# 2. Run this query: the play button, or",
        "#    Ctrl-Enter. The Docs, left, show the schema.",
      ]
    : [
        "# 1. Get a token from POST /oauth/token (client credentials, see the README),",
        "#    or run: sales-api token --client-id demo-app",
        "# 2. Paste it into the Headers below, after 'Bearer '.",
        "# 3. Run this query: the play button, or Ctrl-Enter.",
      ];

  var DEFAULT_QUERY = ["# The Sales API explorer.", "#"]
    .concat(STEPS, [
      "",
      "query Orders {",
      "  orders(page: 1, perPage: 20) {",
      "    items {",
      "      id",
      "      status",
      "      totalAmount",
      "      createdAt",
      "    }",
      "    totalItems",
      "    totalPages",
      "  }",
      "}",
      "",
    ])
    .join("\n");

  // Answered instead of calling the service while there is no token (the schema is
  // fetched on load): a 401 would say the same less helpfully, and log a failed request.
  var NEEDS_TOKEN = {
    data: null,
    errors: [
      {
        message:
          "No token yet: " +
          (demoButton ? "press 'Use a demo token' (above), or get one " : "get one ") +
          "from POST /oauth/token and paste it into the " +
          "Authorization header (Headers, below the query) after 'Bearer '.",
      },
    ],
  };

  /** The bearer token in a headers object, or null when it is missing or the placeholder. */
  function bearerToken(headers) {
    if (!headers || typeof headers !== "object") {
      return null;
    }
    for (var name in headers) {
      if (Object.prototype.hasOwnProperty.call(headers, name) && name.toLowerCase() === "authorization") {
        var match = /^Bearer\s+([^\s<>]+)$/i.exec(String(headers[name]).trim());
        return match ? match[1] : null;
      }
    }
    return null;
  }

  function tokenInText(text) {
    try {
      return bearerToken(JSON.parse(text || "{}"));
    } catch (error) {
      return null; // half-typed JSON
    }
  }

  /** Headers text with `Authorization: Bearer <token>` first and the other headers kept. */
  function withBearer(text, token) {
    var headers = null;
    try {
      headers = JSON.parse(text || "{}");
    } catch (error) {
      headers = null; // half-typed JSON: start again from the API's headers
    }
    if (!headers || typeof headers !== "object" || Array.isArray(headers)) {
      headers = JSON.parse(DEFAULT_HEADERS);
    }
    var result = { Authorization: "Bearer " + token };
    Object.keys(headers).forEach(function (name) {
      if (name.toLowerCase() !== "authorization") {
        result[name] = headers[name];
      }
    });
    return JSON.stringify(result, null, 2);
  }

  /**
   * A token for the demo client from the service's own token endpoint (OAuth2 client
   * credentials, as the button says), or an Error with the issuer's reason.
   */
  function requestDemoToken() {
    return window
      .fetch(demoButton.getAttribute("data-token-url"), {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({
          grant_type: "client_credentials",
          client_id: demoButton.getAttribute("data-client-id"),
          client_secret: demoButton.getAttribute("data-client-secret"),
          audience: demoButton.getAttribute("data-audience"),
        }),
        cache: "no-store",
        credentials: "omit",
      })
      .then(function (response) {
        return response
          .json()
          .catch(function () {
            return {};
          })
          .then(function (body) {
            if (!response.ok || typeof body.access_token !== "string") {
              throw new Error(body.error_description || body.error || "HTTP " + response.status);
            }
            return body;
          });
      });
  }

  var demoPending = false;

  /** A demo token (null when there is none), said in the bar's status line. */
  function getDemoToken() {
    demoPending = true;
    demoButton.setAttribute("aria-disabled", "true");
    demoStatus.textContent = "Getting a demo token\u2026";
    return requestDemoToken()
      .then(
        function (body) {
          var minutes = Math.round(Number(body.expires_in) / 60);
          demoStatus.textContent =
            "The Authorization header holds a demo token for " +
            demoButton.getAttribute("data-client-id") +
            " (organisation " +
            demoButton.getAttribute("data-organisation") +
            ")" +
            (minutes > 0 ? ", valid for " + minutes + " minutes." : ".");
          return body.access_token;
        },
        function (error) {
          demoStatus.textContent = "No demo token: " + error.message;
          return null;
        }
      )
      .then(function (token) {
        demoPending = false;
        demoButton.removeAttribute("aria-disabled");
        return token;
      });
  }

  // GraphiQL's history keeps the headers of every run in localStorage, even with
  // shouldPersistHeaders off (graphiql 4.1). This storage drops them on the way in, so a
  // token never outlives the page; history keeps the queries and variables.
  var HISTORY_KEYS = ["graphiql:queries", "graphiql:favorites"];

  function withoutHeaders(key, value) {
    if (HISTORY_KEYS.indexOf(key) < 0) {
      return value;
    }
    try {
      var stored = JSON.parse(value);
      Object.keys(stored).forEach(function (list) {
        (Array.isArray(stored[list]) ? stored[list] : []).forEach(function (item) {
          delete item.headers;
        });
      });
      return JSON.stringify(stored);
    } catch (error) {
      return value;
    }
  }

  function graphiqlKeys() {
    return Object.keys(window.localStorage).filter(function (key) {
      return key.indexOf("graphiql:") === 0;
    });
  }

  var storage = {
    getItem: function (key) {
      return window.localStorage.getItem(key);
    },
    setItem: function (key, value) {
      window.localStorage.setItem(key, withoutHeaders(key, value));
    },
    removeItem: function (key) {
      window.localStorage.removeItem(key);
    },
    clear: function () {
      graphiqlKeys().forEach(function (key) {
        window.localStorage.removeItem(key);
      });
    },
    get length() {
      return graphiqlKeys().length;
    },
  };

  var container = document.getElementById("graphiql");
  // GraphiQL's dialogs add a <style> element (react-style-singleton, which reads
  // __webpack_nonce__); it carries this nonce, which the page's CSP names.
  window.__webpack_nonce__ = container.getAttribute("data-style-nonce") || undefined;
  var graphqlUrl = new URL(container.getAttribute("data-graphql-url"), window.location.href);
  var httpFetcher = GraphiQL.createFetcher({ url: graphqlUrl.toString() });
  var plugins = [GraphiQLPluginExplorer.explorerPlugin()];

  var socketUrl = new URL(graphqlUrl.toString());
  socketUrl.protocol = graphqlUrl.protocol === "https:" ? "wss:" : "ws:";

  /** The kind of operation params would run: "query", "mutation" or "subscription". */
  function operationKind(params) {
    var text = String(params.query || "").replace(/#[^\n]*/g, "");
    var pattern = /(?:^|\})\s*(query|mutation|subscription)\b\s*([_A-Za-z][_0-9A-Za-z]*)?/g;
    var found = null;
    var match;
    while ((match = pattern.exec(text)) !== null) {
      if (!params.operationName || match[2] === params.operationName) {
        found = found || match[1];
      }
    }
    return found || "query";
  }

  /**
   * A subscription over the graphql-transport-ws protocol, as GraphiQL wants it: an async
   * iterator of results. The headers go in connection_init (a socket has no headers).
   */
  function subscribeOverSocket(params, headers) {
    var queue = [];
    var waiting = null;
    var finished = false;
    var socket = new WebSocket(socketUrl.toString(), "graphql-transport-ws");

    function push(item) {
      if (finished) {
        return;
      }
      if (item.done) {
        finished = true;
      }
      if (waiting) {
        var resolve = waiting;
        waiting = null;
        resolve(item);
      } else {
        queue.push(item);
      }
    }

    socket.onopen = function () {
      socket.send(JSON.stringify({ type: "connection_init", payload: headers || {} }));
    };
    socket.onmessage = function (event) {
      var message = JSON.parse(event.data);
      if (message.type === "connection_ack") {
        socket.send(JSON.stringify({ id: "1", type: "subscribe", payload: params }));
      } else if (message.type === "next") {
        push({ value: message.payload, done: false });
      } else if (message.type === "error") {
        push({ value: { errors: message.payload }, done: false });
        push({ value: undefined, done: true });
      } else if (message.type === "complete") {
        push({ value: undefined, done: true });
      } else if (message.type === "ping") {
        socket.send(JSON.stringify({ type: "pong" }));
      }
    };
    socket.onclose = function (event) {
      if (!finished) {
        var why = "The subscription's socket closed (" + event.code + " " + event.reason + ")";
        push({ value: { errors: [{ message: why }] }, done: false });
        push({ value: undefined, done: true });
      }
    };

    var iterator = {
      next: function () {
        if (queue.length) {
          return Promise.resolve(queue.shift());
        }
        if (finished) {
          return Promise.resolve({ value: undefined, done: true });
        }
        return new Promise(function (resolve) {
          waiting = resolve;
        });
      },
      return: function () {
        finished = true;
        if (socket.readyState <= 1) {
          socket.close(1000, "done");
        }
        return Promise.resolve({ value: undefined, done: true });
      },
    };
    iterator[Symbol.asyncIterator] = function () {
      return iterator;
    };
    return iterator;
  }

  function fetcherFor(token, editorHeaders) {
    // A new function per token: GraphiQL fetches the schema again when its fetcher
    // changes, so pasting a token loads the docs and completion without a reload.
    return function fetcher(params, options) {
      var headers = options && options.headers;
      if (!headers) {
        // GraphiQL fetches the schema on load before its header editor exists, and then
        // sends no headers: those the editor is about to show are meant.
        try {
          headers = JSON.parse(editorHeaders || "{}");
        } catch (error) {
          headers = {};
        }
        options = Object.assign({}, options, { headers: headers });
      }
      if (!bearerToken(headers)) {
        return Promise.resolve(NEEDS_TOKEN);
      }
      if (operationKind(params) === "subscription") {
        return subscribeOverSocket(params, headers);
      }
      return httpFetcher(params, options);
    };
  }

  /**
   * GraphiQL with our fetcher. `offered` ({token}) is a demo token to put into the header
   * editor, where the user sees it; a new one each time the button is pressed.
   */
  function SalesExplorer(props) {
    var offered = props.offered;
    // Given to GraphiQL's header editor, which takes the text whenever this changes: set
    // only when a demo token comes (and on load with the first one).
    var headersState = React.useState(function () {
      return offered ? withBearer(DEFAULT_HEADERS, offered.token) : undefined;
    });
    var headers = headersState[0];
    var setHeaders = headersState[1];
    // The editor's text as last seen, so that a new token keeps the headers the user set.
    var editedHeaders = React.useRef(headers || DEFAULT_HEADERS);
    var applied = React.useRef(offered);
    var tokenState = React.useState(offered ? offered.token : null);
    var token = tokenState[0];
    var setToken = tokenState[1];
    var fetcher = React.useMemo(
      function () {
        return fetcherFor(token, editedHeaders.current);
      },
      [token]
    );
    var pending = React.useRef(0);

    React.useEffect(
      function () {
        if (offered && offered !== applied.current) {
          applied.current = offered;
          editedHeaders.current = withBearer(editedHeaders.current, offered.token);
          setHeaders(editedHeaders.current);
        }
      },
      [offered]
    );

    React.useEffect(
      function () {
        // Runs after GraphiQL has put `headers` into its editor (a child's effects run
        // first), so the schema is fetched again with the new token.
        if (headers !== undefined) {
          window.clearTimeout(pending.current);
          setToken(tokenInText(headers));
        }
      },
      [headers]
    );

    function onEditHeaders(text) {
      editedHeaders.current = text;
      // Waits for typing to stop, so a half-pasted token is never sent.
      window.clearTimeout(pending.current);
      pending.current = window.setTimeout(function () {
        setToken(tokenInText(text));
      }, 500);
    }

    return React.createElement(GraphiQL, {
      fetcher: fetcher,
      plugins: plugins,
      defaultQuery: DEFAULT_QUERY,
      defaultHeaders: DEFAULT_HEADERS,
      headers: headers,
      // Tokens stay out of localStorage (with the storage above for the history).
      shouldPersistHeaders: false,
      storage: storage,
      isHeadersEditorEnabled: true,
      defaultEditorToolsVisibility: "headers",
      inputValueDeprecation: true,
      onEditHeaders: onEditHeaders,
      onSchemaChange: demoButton ? showDocsOnce : undefined,
    });
  }

  var docsShown = false;

  /**
   * Opens the docs the first time a schema comes, as a user would, with the sidebar's
   * button: GraphiQL 4 shows a plugin's pane only when that button opens it (its
   * visiblePlugin prop picks the plugin but leaves the pane hidden).
   */
  function showDocsOnce() {
    if (docsShown) {
      return;
    }
    docsShown = true;
    window.setTimeout(function () {
      var show = container.querySelector('button[aria-label="Show Documentation Explorer"]');
      if (show) {
        show.click();
      }
    }, 0);
  }

  var root = ReactDOM.createRoot(container);

  function render(offered) {
    root.render(React.createElement(SalesExplorer, { offered: offered }));
  }

  if (demoButton) {
    demoButton.addEventListener("click", function () {
      if (!demoPending) {
        getDemoToken().then(function (token) {
          if (token) {
            render({ token: token });
          }
        });
      }
    });
    // Once as the page loads, before GraphiQL starts, so that its first schema fetch
    // carries the token and the docs show before any query.
    getDemoToken().then(function (token) {
      render(token ? { token: token } : null);
    });
  } else {
    render(null);
  }
})();
