/*
 * CuratorPeer is the Java side of internal/zktest's Curator helper: a real
 * Apache Curator ServiceDiscovery (curator-x-discovery) that the Go tests
 * drive, to check our Curator format against the real thing.
 *
 *   java CuratorPeer <connect string, may end in a chroot> <base path> <session timeout ms>
 *
 * Environment: CURATOR_PEER_AUTH, "scheme:credential" (e.g. digest:u:p),
 * added to the session when set.
 *
 * It reads one JSON request a line on stdin and answers each with one JSON
 * line on stdout, {"seq":N,"result":...} or {"seq":N,"error":"..."}, in
 * order. A ServiceCache started by "follow" also writes, at any time, event
 * lines {"event":"cache","name":...,"instances":[...]}. It starts by
 * writing {"event":"ready"} once connected. Requests:
 *
 *   {"op":"register","instance":{"name","id","address","port","sslPort",
 *        "serviceType","uriSpec","registrationTimeUTC","enabled",
 *        "spring":{metadata} | "map":{entries}, "springId", "springName"}}
 *   {"op":"update","id":...,"metadata":{...}}   the payload's map replaced
 *   {"op":"unregister","id":...}
 *   {"op":"query","name":...}     queryForInstances: each instance as
 *                                 Curator's serializer writes it
 *   {"op":"spring","name":...}    what Spring Cloud's ZookeeperDiscoveryClient
 *                                 makes of them (its serializer, its mapping)
 *   {"op":"follow","name":...}    start a ServiceCache; result: its instances
 *   {"op":"names"}                queryForNames
 *   {"op":"exit"}                 close everything (unregistering) and exit
 *
 * End of input closes everything and exits too.
 */

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.state.ConnectionState;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.apache.curator.x.discovery.ServiceCache;
import org.apache.curator.x.discovery.ServiceDiscovery;
import org.apache.curator.x.discovery.ServiceDiscoveryBuilder;
import org.apache.curator.x.discovery.ServiceInstance;
import org.apache.curator.x.discovery.ServiceInstanceBuilder;
import org.apache.curator.x.discovery.ServiceType;
import org.apache.curator.x.discovery.UriSpec;
import org.apache.curator.x.discovery.details.JsonInstanceSerializer;
import org.apache.curator.x.discovery.details.ServiceCacheListener;
import org.springframework.cloud.zookeeper.discovery.ZookeeperInstance;

public class CuratorPeer {
	private static final ObjectMapper json = new ObjectMapper();
	private static final PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);

	private final CuratorFramework client;
	// Any payload, as a Curator user with no payload class of its own reads
	// them: "@class" picks the class.
	private final JsonInstanceSerializer<Object> serializer = new JsonInstanceSerializer<>(Object.class);
	private final ServiceDiscovery<Object> discovery;
	// Spring Cloud Zookeeper's reader: its serializer, its payload class.
	private final ServiceDiscovery<ZookeeperInstance> spring;
	private final Map<String, ServiceInstance<Object>> registered = new ConcurrentHashMap<>();
	private final Map<String, ObjectNode> specs = new ConcurrentHashMap<>();
	private final List<ServiceCache<Object>> caches = new ArrayList<>();

	CuratorPeer(String connect, String base, int sessionMs, String auth) throws Exception {
		CuratorFrameworkFactory.Builder b = CuratorFrameworkFactory.builder()
			.connectString(connect)
			.sessionTimeoutMs(sessionMs)
			.connectionTimeoutMs(Math.min(15000, sessionMs))
			.retryPolicy(new ExponentialBackoffRetry(100, 10, 1000));
		if (auth != null && !auth.isEmpty()) {
			int i = auth.indexOf(':');
			b.authorization(auth.substring(0, i), auth.substring(i + 1).getBytes(StandardCharsets.UTF_8));
		}
		client = b.build();
		client.start();
		if (!client.blockUntilConnected(60, TimeUnit.SECONDS)) {
			throw new IllegalStateException("not connected to " + connect + " after 60 s");
		}
		discovery = ServiceDiscoveryBuilder.builder(Object.class)
			.client(client).basePath(base).serializer(serializer).build();
		discovery.start();
		spring = ServiceDiscoveryBuilder.builder(ZookeeperInstance.class)
			.client(client).basePath(base)
			.serializer(new JsonInstanceSerializer<>(ZookeeperInstance.class)).build();
		spring.start();
	}

	public static void main(String[] args) throws Exception {
		if (args.length != 3) {
			System.err.println("usage: CuratorPeer <connect> <base path> <session timeout ms>");
			System.exit(2);
		}
		CuratorPeer p = new CuratorPeer(args[0], args[1], Integer.parseInt(args[2]), System.getenv("CURATOR_PEER_AUTH"));
		ObjectNode ready = json.createObjectNode();
		ready.put("event", "ready");
		emit(ready);
		BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
		String line;
		while ((line = in.readLine()) != null) {
			if (line.isBlank()) {
				continue;
			}
			JsonNode req = json.readTree(line);
			ObjectNode reply = json.createObjectNode();
			reply.set("seq", req.get("seq"));
			String op = req.path("op").asText();
			try {
				if (op.equals("exit")) {
					reply.putNull("result");
					p.close();
					emit(reply);
					System.exit(0);
				}
				reply.set("result", p.handle(op, req));
			} catch (Exception e) {
				reply.put("error", e.toString());
			}
			emit(reply);
		}
		p.close();
		System.exit(0);
	}

	static synchronized void emit(JsonNode n) throws Exception {
		out.println(json.writeValueAsString(n));
	}

	JsonNode handle(String op, JsonNode req) throws Exception {
		switch (op) {
		case "register": {
			ObjectNode spec = (ObjectNode) req.get("instance");
			ServiceInstance<Object> inst = build(spec, payloadMap(spec));
			discovery.registerService(inst);
			registered.put(inst.getId(), inst);
			specs.put(inst.getId(), spec);
			return json.readTree(serializer.serialize(inst));
		}
		case "update": {
			String id = req.path("id").asText();
			ObjectNode spec = specs.get(id);
			if (spec == null) {
				throw new IllegalArgumentException("no instance " + id + " registered here");
			}
			ServiceInstance<Object> inst = build(spec, toMap(req.get("metadata")));
			discovery.updateService(inst);
			registered.put(id, inst);
			return json.readTree(serializer.serialize(inst));
		}
		case "unregister": {
			String id = req.path("id").asText();
			ServiceInstance<Object> inst = registered.remove(id);
			specs.remove(id);
			if (inst == null) {
				throw new IllegalArgumentException("no instance " + id + " registered here");
			}
			discovery.unregisterService(inst);
			return null;
		}
		case "query":
			return instances(discovery.queryForInstances(req.path("name").asText()));
		case "spring":
			return springView(req.path("name").asText());
		case "follow":
			return follow(req.path("name").asText());
		case "names": {
			ArrayNode a = json.createArrayNode();
			for (String n : discovery.queryForNames()) {
				a.add(n);
			}
			return a;
		}
		default:
			throw new IllegalArgumentException("unknown op " + op);
		}
	}

	// build makes the instance spec describes, with the payload's map m.
	ServiceInstance<Object> build(ObjectNode spec, Map<String, String> m) throws Exception {
		ServiceInstanceBuilder<Object> b = ServiceInstance.builder()
			.name(spec.path("name").asText())
			.id(spec.path("id").asText())
			.address(spec.path("address").asText());
		if (spec.hasNonNull("port")) {
			b.port(spec.get("port").asInt());
		}
		if (spec.hasNonNull("sslPort")) {
			b.sslPort(spec.get("sslPort").asInt());
		}
		if (spec.hasNonNull("serviceType")) {
			b.serviceType(ServiceType.valueOf(spec.get("serviceType").asText()));
		}
		if (spec.hasNonNull("uriSpec")) {
			b.uriSpec(new UriSpec(spec.get("uriSpec").asText()));
		}
		if (spec.hasNonNull("registrationTimeUTC")) {
			b.registrationTimeUTC(spec.get("registrationTimeUTC").asLong());
		}
		if (spec.hasNonNull("enabled")) {
			b.enabled(spec.get("enabled").asBoolean());
		}
		if (spec.hasNonNull("spring")) {
			String sid = spec.hasNonNull("springId") ? spec.get("springId").asText() : spec.path("id").asText();
			String sname = spec.hasNonNull("springName") ? spec.get("springName").asText() : spec.path("name").asText();
			b.payload(new ZookeeperInstance(sid, sname, m));
		} else if (spec.hasNonNull("map")) {
			b.payload(new HashMap<>(m));
		}
		return b.build();
	}

	static Map<String, String> payloadMap(ObjectNode spec) {
		if (spec.hasNonNull("spring")) {
			return toMap(spec.get("spring"));
		}
		return toMap(spec.get("map"));
	}

	static Map<String, String> toMap(JsonNode n) {
		Map<String, String> m = new HashMap<>();
		if (n == null || n.isNull()) {
			return m;
		}
		for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext();) {
			Map.Entry<String, JsonNode> e = it.next();
			m.put(e.getKey(), e.getValue().asText());
		}
		return m;
	}

	ArrayNode instances(Collection<ServiceInstance<Object>> list) throws Exception {
		ArrayNode a = json.createArrayNode();
		for (ServiceInstance<Object> i : list) {
			a.add(json.readTree(serializer.serialize(i)));
		}
		return a;
	}

	// springView is what Spring Cloud Zookeeper's DiscoveryClient returns
	// for name: it reads with JsonInstanceSerializer<ZookeeperInstance>,
	// takes the SSL port when there is one (and is then secure), the payload's
	// metadata, and the URI the instance's uriSpec builds.
	ArrayNode springView(String name) throws Exception {
		ArrayNode a = json.createArrayNode();
		for (ServiceInstance<ZookeeperInstance> i : spring.queryForInstances(name)) {
			ObjectNode o = json.createObjectNode();
			boolean secure = i.getSslPort() != null;
			Integer port = secure ? i.getSslPort() : i.getPort();
			o.put("serviceId", name);
			o.put("instanceId", i.getId());
			o.put("host", i.getAddress());
			o.put("port", port == null ? 0 : port);
			o.put("secure", secure);
			o.put("uri", URI.create(i.buildUriSpec()).toString());
			ObjectNode meta = o.putObject("metadata");
			if (i.getPayload() != null && i.getPayload().getMetadata() != null) {
				i.getPayload().getMetadata().forEach(meta::put);
				o.put("payloadId", i.getPayload().getId());
				o.put("payloadName", i.getPayload().getName());
			}
			a.add(o);
		}
		return a;
	}

	ArrayNode follow(String name) throws Exception {
		ServiceCache<Object> cache = discovery.serviceCacheBuilder().name(name).build();
		cache.addListener(new ServiceCacheListener() {
			@Override
			public void cacheChanged() {
				try {
					ObjectNode ev = json.createObjectNode();
					ev.put("event", "cache");
					ev.put("name", name);
					ev.set("instances", instances(cache.getInstances()));
					emit(ev);
				} catch (Exception e) {
					System.err.println("cache " + name + ": " + e);
				}
			}

			@Override
			public void stateChanged(CuratorFramework c, ConnectionState s) {
			}
		});
		cache.start();
		synchronized (caches) {
			caches.add(cache);
		}
		return instances(cache.getInstances());
	}

	void close() throws Exception {
		synchronized (caches) {
			for (ServiceCache<Object> c : caches) {
				c.close();
			}
		}
		discovery.close();
		spring.close();
		client.close();
	}
}
