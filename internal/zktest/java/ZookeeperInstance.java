/*
 * A stand-in for Spring Cloud Zookeeper's payload class, which Debian does
 * not package: the same package, class name and properties (id, name,
 * metadata) in the same order, so that Jackson writes and reads exactly
 * what Spring's
 * org.springframework.cloud.zookeeper.discovery.ZookeeperInstance does
 * ("@class" names this class). Used by the Curator peer of internal/zktest
 * (CuratorPeer.java); see docs/curator.md.
 */
package org.springframework.cloud.zookeeper.discovery;

import java.util.HashMap;
import java.util.Map;

public class ZookeeperInstance {
	private String id;
	private String name;
	private Map<String, String> metadata = new HashMap<>();

	@SuppressWarnings("unused")
	private ZookeeperInstance() {
	}

	public ZookeeperInstance(String id, String name, Map<String, String> metadata) {
		this.id = id;
		this.name = name;
		this.metadata = metadata;
	}

	public String getId() {
		return this.id;
	}

	public String getName() {
		return this.name;
	}

	public void setId(String id) {
		this.id = id;
	}

	public void setName(String name) {
		this.name = name;
	}

	public Map<String, String> getMetadata() {
		return this.metadata;
	}

	public void setMetadata(Map<String, String> metadata) {
		this.metadata = metadata;
	}
}
